//! The district price-trend chart as inline SVG (hand-written: one polyline, axes, labels — no
//! script, readable by screen readers through its `<title>` and the table beside it).

use super::api::TrendPoint;
use std::fmt::Write;

/// Width and height of the drawing, in SVG user units (CSS scales it to the column).
pub const WIDTH: f64 = 640.0;
/// Height, user units.
pub const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 36.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the series as an SVG element: x = months in order, y = index level in 元/m² (axis
/// from 0 to the maximum rounded up to 10,000), a label every January, a dashed vertical line
/// at `mark` (`YYYY-MM`, the valuation month) when it is in the series. Returns an empty string
/// for fewer than two points.
pub fn trend_svg(title: &str, points: &[TrendPoint], mark: Option<&str>) -> String {
    if points.len() < 2 {
        return String::new();
    }
    let max = points
        .iter()
        .map(|p| p.level_yuan_m2)
        .max()
        .unwrap_or(1)
        .max(1);
    let top_value = (f64::from(max) / 10_000.0).ceil() * 10_000.0;
    let w = WIDTH - LEFT - RIGHT;
    let h = HEIGHT - TOP - BOTTOM;
    // x is the calendar month, so a month without trades leaves a gap in time, not a squeeze.
    let month_no = |p: &TrendPoint| -> f64 {
        let y: f64 = p.month.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0.0);
        let m: f64 = p
            .month
            .get(5..7)
            .and_then(|m| m.parse().ok())
            .unwrap_or(1.0);
        y * 12.0 + m - 1.0
    };
    let first = month_no(&points[0]);
    let span = (month_no(&points[points.len() - 1]) - first).max(1.0);
    let x = |i: usize| LEFT + w * (month_no(&points[i]) - first) / span;
    let y = |v: u32| TOP + h * (1.0 - f64::from(v) / top_value);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="trend-title" class="trend"><title id="trend-title">{}</title>"#,
        escape(title)
    );
    // Horizontal grid and y labels: 0, ¼, ½, ¾, 1 of the axis.
    for k in 0..=4 {
        let v = top_value * f64::from(k) / 4.0;
        let yy = TOP + h * (1.0 - f64::from(k) / 4.0);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            if k == 0 {
                "0".to_string()
            } else {
                format!("{:.1}万", v / 10_000.0)
            }
        );
    }
    // January labels.
    for (i, p) in points.iter().enumerate() {
        if p.month.ends_with("-01") || i == 0 {
            let xx = x(i);
            let _ = write!(
                s,
                r##"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#999"/><text x="{xx:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
                TOP + h,
                TOP + h + 4.0,
                TOP + h + 18.0,
                escape(&p.month[..4.min(p.month.len())])
            );
        }
    }
    let mut path = String::new();
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            path,
            "{}{:.1},{:.1}",
            if i == 0 { "" } else { " " },
            x(i),
            y(p.level_yuan_m2)
        );
    }
    let _ = write!(
        s,
        r##"<polyline fill="none" stroke="#b03030" stroke-width="2" points="{path}"/>"##
    );
    if let Some(m) = mark
        && let Some(i) = points.iter().position(|p| p.month == m)
    {
        let xx = x(i);
        let _ = write!(
            s,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#333" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" font-size="11">估值月</text>"##,
            TOP + h,
            (xx + 4.0).min(WIDTH - RIGHT - 40.0),
            TOP + 12.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{LEFT}" y="14" font-size="12">元/m²（月度成交单价中位数）</text></svg>"#
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts() -> Vec<TrendPoint> {
        ["2016-11", "2016-12", "2017-01", "2017-02"]
            .iter()
            .zip([50_000u32, 52_000, 55_000, 61_000])
            .map(|(m, v)| TrendPoint {
                month: m.to_string(),
                level_yuan_m2: v,
                trades: 10,
            })
            .collect()
    }

    #[test]
    fn draws_a_line_with_labels_and_mark() {
        let svg = trend_svg("朝阳 <区>", &pts(), Some("2017-01"));
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("朝阳 &lt;区&gt;"));
        assert!(svg.contains("2017"));
        assert!(svg.contains("7.0万")); // axis top: 61,000 rounded up to 70,000
        assert!(svg.contains("估值月"));
        // The highest point is the last one and sits highest (smallest y).
        let poly = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let ys: Vec<f64> = poly
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(ys.len(), 4);
        assert!(ys[3] < ys[0]);
        assert_eq!(trend_svg("x", &pts()[..1], None), "");
        assert!(!trend_svg("x", &pts(), Some("1999-01")).contains("估值月"));
    }
}
