//! Rent levels per 板块 (business circle) and district.
//!
//! Sources (`data/market/rent/`, see data/README.md):
//! * `{bj,sh,gz,sz}_bankuai_rent_2024-12.csv` — mean monthly rent of the listings of each 板块,
//!   元/月 per listing (not per m²), Beijing/Shanghai/Guangzhou/Shenzhen, December 2024.
//! * `bj_rent_per_m2_by_orientation_2024-12.csv.gz` — Beijing listings' rent per m² per month;
//!   only the city-wide median is used (the file has no location).
//! * `chongqing_chengdu_rent_listings_2021-04.csv` — listings with district, 商圈, area and rent;
//!   aggregated here per (city, 商圈) and per (city, district): mean monthly rent, mean rent per m².

use serde::Serialize;
use std::collections::HashMap;

/// The rent level of one area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RentLevel {
    /// City (`北京`, `上海`, `广州`, `深圳`, `重庆`, `成都`).
    pub city: String,
    /// 板块 / 商圈 name, or the district name when `is_district`.
    pub area: String,
    /// Whether `area` is a district rather than a 板块.
    pub is_district: bool,
    /// Mean monthly rent per listing, 元/月.
    pub mean_monthly_rent_yuan: u32,
    /// Mean monthly rent per m², 元/m²/月, where the source has areas.
    pub rent_per_m2_month_yuan: Option<f64>,
    /// Listings behind the figure, where known.
    pub listings: Option<u32>,
    /// Month of the source data (`2024-12`, `2021-04`).
    pub data_month: &'static str,
}

/// All rent levels, looked up by city and area name.
#[derive(Debug, Clone, Default)]
pub struct RentTable {
    levels: HashMap<(String, String), RentLevel>,
    /// Median rent per m² per month of the Beijing listings, 元.
    beijing_median_per_m2: Option<f64>,
    beijing_median_bankuai_rent: Option<f64>,
}

fn strip_bom(s: &str) -> &str {
    s.trim_start_matches('\u{feff}')
}

/// Normalises an area name for lookup (trims, drops a trailing 区/板块/商圈 only when something
/// remains).
fn key(s: &str) -> String {
    let s = s.trim();
    for suf in ["板块", "商圈"] {
        if let Some(x) = s.strip_suffix(suf)
            && !x.is_empty()
        {
            return x.to_string();
        }
    }
    s.to_string()
}

impl RentTable {
    /// Reads a `板块,平均价格（元/月）` file of a city.
    ///
    /// # Errors
    /// A CSV error or a row whose rent is not a positive number.
    pub fn add_bankuai_file(&mut self, city: &str, text: &str) -> Result<usize, String> {
        let mut rdr = csv::ReaderBuilder::new().from_reader(strip_bom(text).as_bytes());
        let mut n = 0;
        for (i, r) in rdr.records().enumerate() {
            let r = r.map_err(|e| format!("{city} rent line {}: {e}", i + 2))?;
            let name = r.get(0).unwrap_or("").trim();
            let rent: f64 = r
                .get(1)
                .unwrap_or("")
                .trim()
                .parse()
                .map_err(|_| format!("{city} rent line {}: rent is not a number", i + 2))?;
            if name.is_empty() || !(rent.is_finite() && rent > 0.0) {
                continue;
            }
            self.levels.insert(
                (city.to_string(), key(name)),
                RentLevel {
                    city: city.to_string(),
                    area: name.to_string(),
                    is_district: false,
                    mean_monthly_rent_yuan: rent.round() as u32,
                    rent_per_m2_month_yuan: None,
                    listings: None,
                    data_month: "2024-12",
                },
            );
            n += 1;
        }
        if city == "北京" {
            let mut v: Vec<f64> = self
                .levels
                .values()
                .filter(|l| l.city == "北京")
                .map(|l| f64::from(l.mean_monthly_rent_yuan))
                .collect();
            v.sort_by(f64::total_cmp);
            self.beijing_median_bankuai_rent = v.get(v.len() / 2).copied();
        }
        Ok(n)
    }

    /// Reads the Beijing per-m² file (`朝向,单位面积租金（元/月/㎡）`) and keeps the median.
    ///
    /// # Errors
    /// A CSV error.
    pub fn add_beijing_per_m2(&mut self, text: &str) -> Result<usize, String> {
        let mut rdr = csv::ReaderBuilder::new().from_reader(strip_bom(text).as_bytes());
        let mut v = Vec::new();
        for r in rdr.records() {
            let r = r.map_err(|e| format!("Beijing rent per m²: {e}"))?;
            if let Some(x) = r.get(1).and_then(|s| s.trim().parse::<f64>().ok())
                && x.is_finite()
                && (5.0..=1_000.0).contains(&x)
            {
                v.push(x);
            }
        }
        v.sort_by(f64::total_cmp);
        self.beijing_median_per_m2 = v.get(v.len() / 2).copied();
        Ok(v.len())
    }

    /// Reads the Chongqing/Chengdu rent listings and aggregates them per 商圈 and per district.
    ///
    /// # Errors
    /// A CSV error or a missing column.
    pub fn add_listings(&mut self, text: &str) -> Result<usize, String> {
        let mut rdr = csv::ReaderBuilder::new().from_reader(strip_bom(text).as_bytes());
        let h = rdr.headers().map_err(|e| e.to_string())?.clone();
        let col = |n: &str| {
            h.iter()
                .position(|c| c.trim() == n)
                .ok_or_else(|| format!("rent listings: no column {n:?}"))
        };
        let (ci, di, bi, ai, ri) = (
            col("city")?,
            col("district")?,
            col("bizcircle")?,
            col("area_m2")?,
            col("rent_yuan_month")?,
        );
        // (city, area, is_district) -> (n, sum rent, n with area, sum rent per m²)
        type Key = (String, String, bool);
        let mut acc: HashMap<Key, (u32, f64, u32, f64)> = HashMap::new();
        let mut n = 0;
        for r in rdr.records() {
            let Ok(r) = r else { continue };
            let city = r.get(ci).unwrap_or("").trim();
            let Some(rent) = r
                .get(ri)
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|x| x.is_finite() && *x > 0.0)
            else {
                continue;
            };
            let area = r
                .get(ai)
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|x| x.is_finite() && *x >= 5.0);
            n += 1;
            for (name, is_d) in [
                (r.get(bi).unwrap_or(""), false),
                (r.get(di).unwrap_or(""), true),
            ] {
                let name = name.trim();
                if name.is_empty() || city.is_empty() {
                    continue;
                }
                let e = acc
                    .entry((city.to_string(), name.to_string(), is_d))
                    .or_default();
                e.0 += 1;
                e.1 += rent;
                if let Some(a) = area {
                    e.2 += 1;
                    e.3 += rent / a;
                }
            }
        }
        for ((city, name, is_d), (k, sum, ka, sum_m2)) in acc {
            let level = RentLevel {
                city: city.clone(),
                area: name.clone(),
                is_district: is_d,
                mean_monthly_rent_yuan: (sum / f64::from(k)).round() as u32,
                rent_per_m2_month_yuan: (ka > 0).then(|| sum_m2 / f64::from(ka)),
                listings: Some(k),
                data_month: "2021-04",
            };
            let k = (
                city,
                if is_d {
                    format!("{name}#d")
                } else {
                    key(&name)
                },
            );
            // A 商圈 with the same name as a district keeps both.
            self.levels.entry(k).or_insert(level);
        }
        Ok(n)
    }

    /// The rent level of a 板块/商圈 (`area`) in a city; falls back to a district of that name.
    pub fn level(&self, city: &str, area: &str) -> Option<&RentLevel> {
        let city = city.trim().trim_end_matches('市');
        self.levels
            .get(&(city.to_string(), key(area)))
            .or_else(|| {
                self.levels
                    .get(&(city.to_string(), format!("{}#d", area.trim())))
            })
            .or_else(|| {
                let a = area.trim().trim_end_matches('区');
                self.levels.get(&(city.to_string(), format!("{a}#d")))
            })
    }

    /// All levels of a city, sorted by area name.
    pub fn levels_in(&self, city: &str) -> Vec<&RentLevel> {
        let city = city.trim().trim_end_matches('市');
        let mut v: Vec<&RentLevel> = self.levels.values().filter(|l| l.city == city).collect();
        v.sort_by(|a, b| (a.is_district, &a.area).cmp(&(b.is_district, &b.area)));
        v
    }

    /// Estimated monthly rent of a Beijing flat of `area_m2` in 板块 `bankuai`, 元/月: the
    /// city median rent per m² × area × (板块 mean rent ÷ median of the 板块 means). `None` without
    /// rent data for the 板块.
    pub fn beijing_estimate(&self, bankuai: &str, area_m2: f64) -> Option<(u32, &RentLevel)> {
        let level = self.level("北京", bankuai)?;
        let per_m2 = self.beijing_median_per_m2?;
        let med = self.beijing_median_bankuai_rent?;
        let est = per_m2 * area_m2 * f64::from(level.mean_monthly_rent_yuan) / med;
        est.is_finite().then(|| (est.round() as u32, level))
    }

    /// Number of levels loaded.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Whether nothing was loaded.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bankuai_and_listings() {
        let mut t = RentTable::default();
        t.add_bankuai_file(
            "北京",
            "\u{feff}板块,平均价格（元/月）\nCBD,16249.03\n七里庄,6655.0\n望京,9000\n",
        )
        .unwrap();
        t.add_beijing_per_m2("朝向,单位面积租金\n南,100\n南北,120\n北,110\n")
            .unwrap();
        assert_eq!(
            t.level("北京市", "CBD").unwrap().mean_monthly_rent_yuan,
            16_249
        );
        assert!(t.level("北京", "不存在").is_none());
        // Median 板块 rent 9,000, median 110 元/m²: a 50 m² flat in 七里庄 → 110×50×6655/9000.
        let (est, _) = t.beijing_estimate("七里庄", 50.0).unwrap();
        assert_eq!(est, (110.0 * 50.0 * 6655.0 / 9000.0_f64).round() as u32);
        t.add_listings(
            "mongo_id,city,district,bizcircle,community,area_m2,rent_yuan_month,rent_mode,layout\n\
             a,重庆,沙坪坝,杨公桥,x,50,1500,整租,\nb,重庆,沙坪坝,杨公桥,y,100,2500,整租,\nc,重庆,渝北,照母山,z,,bad,整租,\n",
        )
        .unwrap();
        let l = t.level("重庆", "杨公桥").unwrap();
        assert_eq!(l.mean_monthly_rent_yuan, 2_000);
        assert_eq!(l.listings, Some(2));
        assert!((l.rent_per_m2_month_yuan.unwrap() - 27.5).abs() < 1e-9);
        assert!(t.level("重庆", "沙坪坝区").unwrap().is_district);
        assert!(t.level("重庆", "照母山").is_none());
    }
}
