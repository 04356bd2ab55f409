#!/usr/bin/env python3
"""Time-respecting LightGBM baseline for the anjia valuation backtest (issue 6).

Values the same held-out trades as `cargo run --release -p anjia-valuation --example backtest`
(which writes them, with anjia's estimates, to /tmp/anjia_backtest_holdout.csv):

* **monthly**: for every calendar month that has held-out trades, a LightGBM model is trained on
  the non-held-out trades dated *before the first day of that month* and values that month's
  held-out trades (no look-ahead);
* **all-data** (ceiling): one model trained on all non-held-out trades, including later ones —
  it sees the future and is not a fair comparison, only the level to aim at.

Features (the subject's, as anjia gets them): BD-09 Lng/Lat, district, square, livingRoom,
drawingRoom, kitchen, bathRoom, floor band, total floors, buildingType, construction year, age at
the trade date, renovationCondition, buildingStructure, elevator, subway, fiveYearsProperty, and the
trade month as a number. Target: ln(price). Rows are accepted as anjia accepts them (not shifted,
price >= 1000 元/m²).

Setup and run (Python 3, in a throw-away venv):
    python3 -m venv /tmp/gbm-venv && /tmp/gbm-venv/bin/pip install lightgbm pandas
    /tmp/gbm-venv/bin/python bench/baseline_gbm.py \
        data/market/beijing_lianjia_trades_2011_2017.csv.gz /tmp/anjia_backtest_holdout.csv [ROUNDS]
(ROUNDS boosting rounds per model, default 200; about 70 monthly models.)
"""
import sys
import time

import lightgbm as lgb
import numpy as np
import pandas as pd

TRADES = sys.argv[1] if len(sys.argv) > 1 else "data/market/beijing_lianjia_trades_2011_2017.csv.gz"
HOLDOUT = sys.argv[2] if len(sys.argv) > 2 else "/tmp/anjia_backtest_holdout.csv"
PARAMS = dict(objective="regression_l1", learning_rate=0.1, num_leaves=127, min_data_in_leaf=20,
              max_bin=127, feature_fraction=0.9, bagging_fraction=0.8, bagging_freq=1, verbose=-1,
              num_threads=1, seed=20170101)  # 1 thread: OpenMP spin-waits badly on a loaded 2-core machine
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 200
BANDS = {"底": 0, "低": 1, "中": 2, "高": 3, "顶": 4}


def load():
    df = pd.read_csv(TRADES, dtype=str, keep_default_na=False)
    ok = df["livingRoom"].str.isdigit() & df["drawingRoom"].str.isdigit()
    df = df[ok].copy()
    df["price_f"] = pd.to_numeric(df["price"], errors="coerce")
    df = df[df["price_f"] >= 1000].copy()
    num = lambda c: pd.to_numeric(df[c], errors="coerce")
    date = pd.to_datetime(df["tradeTime"])
    X = pd.DataFrame({
        "lng": num("Lng"), "lat": num("Lat"), "district": num("district"),
        "square": num("square"), "living": num("livingRoom"), "drawing": num("drawingRoom"),
        "kitchen": num("kitchen"), "bath": num("bathRoom"),
        "floor_band": df["floor"].str.split(" ").str[0].map(BANDS),
        "total_floors": pd.to_numeric(df["floor"].str.split(" ").str[1], errors="coerce"),
        "building_type": num("buildingType"),
        "built": num("constructionTime"),
        "renovation": num("renovationCondition"), "structure": num("buildingStructure"),
        "elevator": num("elevator"), "subway": num("subway"), "five_years": num("fiveYearsProperty"),
    })
    X["age"] = date.dt.year - X["built"]
    X["month_no"] = date.dt.year * 12 + date.dt.month - 1
    X.index = df["id"].values
    y = pd.Series(np.log(df["price_f"].values), index=X.index)
    return X, y, pd.Series(date.values, index=X.index)


def scores(pred_price, actual):
    ape = np.abs(pred_price - actual) / actual
    return 100 * np.median(ape), 100 * np.mean(ape <= 0.10)


def main():
    t0 = time.time()
    X, y, date = load()
    ho = pd.read_csv(HOLDOUT, dtype={"id": str})
    ho = ho[ho["id"].isin(X.index)]
    held = set(ho["id"])
    train_ids = [i for i in X.index if i not in held]
    Xtr, ytr = X.loc[train_ids], y.loc[train_ids]
    print(f"loaded {len(X)} trades, {len(Xtr)} train, {len(ho)} held out ({time.time() - t0:.0f} s)")

    Xho = X.loc[ho["id"]]
    actual = np.exp(y.loc[ho["id"]].values)
    months = Xho["month_no"].values
    monthly = np.full(len(ho), np.nan)
    for m in sorted(set(months)):
        sel = months == m
        past = Xtr["month_no"] < m
        if past.sum() < 1000:
            continue
        model = lgb.train(PARAMS, lgb.Dataset(Xtr[past], ytr[past]), ROUNDS)
        monthly[sel] = np.exp(model.predict(Xho[sel]))
        print(f"  month {m // 12}-{m % 12 + 1:02d}: trained on {past.sum()}, valued {sel.sum()} "
              f"({time.time() - t0:.0f} s)", flush=True)
    have = ~np.isnan(monthly)

    model = lgb.train(PARAMS, lgb.Dataset(Xtr, ytr), ROUNDS)
    alldata = np.exp(model.predict(Xho))

    est = ho["estimate"].values.astype(float)
    both = have & ~np.isnan(est)
    print(f"\nheld-out trades valued by all three: {both.sum()} of {len(ho)}")
    for name, p in [("anjia (comparables, causal)", est), ("LightGBM monthly (causal)", monthly),
                    ("LightGBM all data (sees the future)", alldata)]:
        md, w10 = scores(p[both], actual[both])
        print(f"{name:40s} MdAPE {md:5.2f}%  within ±10% {w10:5.1f}%")
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
