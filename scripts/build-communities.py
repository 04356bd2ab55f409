#!/usr/bin/env python3
"""Builds data/address/communities.csv, the community (小区) gazetteer bundled by anjia-address.

Reproducible and stdlib only:

    python3 scripts/build-communities.py [MARKET_DIR] [OUT_CSV]

MARKET_DIR defaults to ../shared/data/market (the shared real-data folder, see its README.md),
OUT_CSV to data/address/communities.csv. The output is sorted and written with "\n" line ends, so
two runs over the same inputs give identical bytes.

Output columns:
  city        city short name (北京, 上海, 武汉, 成都, 重庆; 眉山/乐山/德阳 for a few Chengdu-area projects)
  district    district as the source names it (朝阳, 浦东, 东湖高新 ...; may be a development zone)
  name        community name as published
  source_id   the source's id for the community (Lianjia community id where there is one;
              otherwise empty)
  lng, lat    decimal degrees, 6 places; empty when the source has no point
  crs         coordinate system of lng/lat: BD-09 (Baidu) or empty when there is no point
  source      short source key, see SOURCES below and data/README.md

Sources (files in MARKET_DIR):
  bj   beijing_communities_2018.csv: id, community, district. Point = mean BD-09 Lng/Lat of the
       trades in beijing_lianjia_trades_2011_2017.csv.gz with that Cid (rows whose Lng/Lat lie
       outside 115.4-117.6 E / 39.4-41.1 N, i.e. the shifted rows, are skipped).
  sh   shanghai_communities_2018-10.csv (';'-separated): district, xiaoqu. No points. District
       上海周边 (outside Shanghai) is dropped.
  wh   wuhan_communities_2019.csv: id, name, district_name, longitude, latitude; one row per id
       (the district whose border in wuhan_districts_2019.csv contains the point). BD-09: the crawler
       (github ddv12138/LianjiaSecondHandHouseDataCrawler lianjia.py) reads Lianjia's map API
       (ajax.lianjia.com/map/search), which serves Baidu-map (BD-09) points; the shared README says
       BD-09 as well.
  cd   chengdu_new_projects_2019.csv: name, district, lng, lat. BD-09: the source repository
       (github daxiangpanda/housePrice_cd geoData_crawler.py) geocoded each project with Baidu's
       point picker (api.map.baidu.com/lbsapi/getpoint). Rows with lng/lat 0 have no point.
  cq   rent/chongqing_chengdu_rent_listings_2021-04.csv: city, district, community (names only),
       deduplicated; a name already present for the same city and district from bj/wh/cd is not
       repeated.
"""

import csv
import gzip
import io
import os
import sys

# Chengdu new projects outside Chengdu proper: their prefecture-level city.
CHENGDU_OUTSIDE = {
    "仁寿县": "眉山",
    "东坡区": "眉山",
    "峨眉山市": "乐山",
    "广汉市": "德阳",
    "绵竹市": "德阳",
}


def clean(s):
    return " ".join((s or "").split())


def fmt(x):
    return f"{x:.6f}"


def point_in_polygon(x, y, poly):
    """Even-odd rule on a closed ring of (lng, lat) pairs."""
    inside = False
    j = len(poly) - 1
    for i in range(len(poly)):
        xi, yi = poly[i]
        xj, yj = poly[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    market = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "data", "market")
    out_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "data", "address", "communities.csv")

    rows = []  # (city, district, name, source_id, lng, lat, crs, source)

    # Beijing: mean BD-09 point of each community's trades.
    sums = {}
    with gzip.open(os.path.join(market, "beijing_lianjia_trades_2011_2017.csv.gz"), "rt", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            try:
                lng, lat = float(r["Lng"]), float(r["Lat"])
            except (TypeError, ValueError):
                continue
            if not (115.4 <= lng <= 117.6 and 39.4 <= lat <= 41.1):
                continue
            cid = (r.get("Cid") or "").strip()
            if not cid:
                continue
            s = sums.setdefault(cid, [0.0, 0.0, 0])
            s[0] += lng
            s[1] += lat
            s[2] += 1
    with open(os.path.join(market, "beijing_communities_2018.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            cid = r["id"].strip()
            name = clean(r["community"])
            if not name:
                continue
            s = sums.get(cid)
            if s:
                rows.append(("北京", clean(r["district"]), name, cid, fmt(s[0] / s[2]), fmt(s[1] / s[2]), "BD-09", "bj"))
            else:
                rows.append(("北京", clean(r["district"]), name, cid, "", "", "", "bj"))

    # Shanghai: names only.
    with open(os.path.join(market, "shanghai_communities_2018-10.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter=";"):
            d = clean(r["district"])
            name = clean(r["xiaoqu"])
            if not name or d == "上海周边":
                continue
            rows.append(("上海", d, name, "", "", "", "", "sh"))

    # Wuhan: BD-09 points from Lianjia's map API. The crawler fetched communities per district
    # bounding box, so 2,279 of 4,729 communities appear under several districts; keep one row per
    # id, in the district whose Lianjia border polygon (wuhan_districts_2019.csv, BD-09) contains
    # the point, else the first listed.
    borders = {}
    with open(os.path.join(market, "wuhan_districts_2019.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            poly = []
            for pair in r["border"].split(";"):
                xy = pair.split(",")
                if len(xy) == 2:
                    try:
                        poly.append((float(xy[0]), float(xy[1])))
                    except ValueError:
                        pass
            if len(poly) >= 3:
                borders[clean(r["name"])] = poly
    wuhan = {}
    with open(os.path.join(market, "wuhan_communities_2019.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            name = clean(r["name"])
            if not name:
                continue
            try:
                lng, lat = float(r["longitude"]), float(r["latitude"])
                pt = (fmt(lng), fmt(lat), "BD-09") if lng > 0 and lat > 0 else ("", "", "")
            except ValueError:
                lng = lat = 0.0
                pt = ("", "", "")
            d = clean(r["district_name"])
            row = ("武汉", d, name, r["id"].strip()) + pt + ("wh",)
            key = r["id"].strip() or name
            inside = d in borders and pt[0] != "" and point_in_polygon(lng, lat, borders[d])
            if key not in wuhan or (inside and not wuhan[key][1]):
                wuhan[key] = (row, inside)
    rows.extend(row for row, _ in wuhan.values())

    # Chengdu new projects: BD-09 from Baidu's point picker.
    with open(os.path.join(market, "chengdu_new_projects_2019.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            name = clean(r["name"])
            if not name:
                continue
            d = clean(r["district"])
            city = CHENGDU_OUTSIDE.get(d, "成都")
            try:
                lng, lat = float(r["lng"]), float(r["lat"])
                pt = (fmt(lng), fmt(lat), "BD-09") if lng > 0 and lat > 0 else ("", "", "")
            except ValueError:
                pt = ("", "", "")
            rows.append((city, d, name, "") + pt + ("cd",))

    # Chongqing/Chengdu rent listings: community names only.
    seen = {(c, d, n) for (c, d, n, *_rest) in rows}
    with open(os.path.join(market, "rent", "chongqing_chengdu_rent_listings_2021-04.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            key = (clean(r["city"]), clean(r["district"]), clean(r["community"]))
            if not all(key) or key in seen:
                continue
            seen.add(key)
            rows.append(key + ("", "", "", "", "cq"))

    # Duplicates (same source, city, district and name; e.g. a Chengdu project listed twice with
    # slightly different points) keep their first row in file order; output sorted.
    seen_keys = set()
    dedup = []
    for r in rows:
        k = (r[7], r[0], r[1], r[2])
        if k in seen_keys:
            continue
        seen_keys.add(k)
        dedup.append(r)
    dedup.sort(key=lambda r: (r[7], r[0], r[1], r[2]))

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["city", "district", "name", "source_id", "lng", "lat", "crs", "source"])
    w.writerows(dedup)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())
    by_src = {}
    for r in dedup:
        by_src[r[7]] = by_src.get(r[7], 0) + 1
    print(f"{out_path}: {len(dedup)} rows {by_src}", file=sys.stderr)


if __name__ == "__main__":
    main()
