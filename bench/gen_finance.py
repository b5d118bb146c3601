#!/usr/bin/env python3
"""Deterministic finance data for bench/spend.sh and bench/reconcile.sh.

    gen_finance.py spend --rows 1000000 --seed 1 --out spend.csv
    gen_finance.py contracts --contracts 100000 --seed 1 --out contracts.jsonl

`spend` writes a Devon-shaped "spend over £500" CSV (the 2019 template: Body, Name of Body,
Date, Transaction Number, Invoice Number, Amount, Supplier Name, ... Creditor Type) with
dd/mm/yyyy dates from 2015 to 2026, amounts with thousands separators (quoted) and some
negatives, about 3% individuals (`REDACTED UNDER DP ACT`, creditor type INDV) and a few blank
and total rows, like the published files.

`contracts` writes one OCDS release per contracting process (JSON Lines, tags award and
contract) whose buyer is the spend publisher (--publisher, default GB-LAE-DEV) and whose
supplier is one of the spend file's suppliers: the same --suppliers and --seed give the same
supplier names, so a share of the payments link. Each supplier has about
contracts/suppliers contracts with periods of one to four years between 2015 and 2026.

Standard library only; the same arguments always give the same bytes.
"""

import argparse
import datetime
import json
import random
import sys

WORDS = [
    "Acme", "Abbey", "Apex", "Beacon", "Bright", "Castle", "Cedar", "Coastal", "Crown", "Dart",
    "Exe", "Granite", "Harbour", "Heritage", "Horizon", "Kingsbridge", "Meadow", "Moor",
    "Northern", "Oak", "Pioneer", "Quay", "River", "Sentinel", "Summit", "Tamar", "Torbay",
    "Valley", "Westcountry", "Willow",
]
TRADES = [
    "Care", "Transport", "Fostering", "Catering", "Building", "Consulting", "Training",
    "Supplies", "Cleaning", "Housing", "Homes", "Therapy", "Education", "Print", "IT",
]
FORMS = ["Ltd", "Limited", "LLP", "CIC", "Trust", "Services Ltd", "Group Ltd"]
AREAS = [
    ("Children's Services", "Foster Care Payments", "5608"),
    ("Adult Care & Health", "Residential Care", "4410"),
    ("Highways", "Road Maintenance", "3120"),
    ("Corporate Services", "IT Hardware", "2201"),
    ("Communities", "Grants & Cont to Vol, comm & soc ent", "5501"),
    ("Public Health", "Professional Services", "4802"),
]
START = datetime.date(2015, 1, 1)
DAYS = (datetime.date(2026, 3, 31) - START).days


def supplier_names(count, seed):
    """`count` distinct supplier names (numbered, so distinct after normalisation), the same
    for the same seed."""
    rng = random.Random(seed * 7919 + 1)
    return [
        f"{rng.choice(WORDS)} {rng.choice(TRADES)} {i} {rng.choice(FORMS)}" for i in range(count)
    ]


def amount(rng):
    pence = int(rng.lognormvariate(8.0, 1.2) * 100) + 50000
    if rng.random() < 0.03:
        pence = -pence
    text = f"{abs(pence) // 100:,}.{abs(pence) % 100:02d}"
    text = ("-" if pence < 0 else "") + text
    return f'"{text}"' if "," in text else text


def spend(args):
    rng = random.Random(args.seed)
    suppliers = supplier_names(args.suppliers, args.seed)
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    write = out.write
    write(
        "Body,Name of Body,Date,Transaction Number,Invoice Number,Amount,Supplier Name,"
        "Supplier ID,Vat Reg No,Expense Area,Expense Type,Expense Code,Creditor Type\r\n"
    )
    for n in range(args.rows):
        if n % 50000 == 49999:
            write(",,,,,,,,,,,,\r\n")
            continue
        day = START + datetime.timedelta(days=rng.randrange(DAYS))
        area, kind, code = AREAS[rng.randrange(len(AREAS))]
        if rng.random() < 0.03:
            name, supplier_id, creditor = "REDACTED UNDER DP ACT", 200000 + rng.randrange(90000), "INDV"
        else:
            s = rng.randrange(len(suppliers))
            name, supplier_id, creditor = suppliers[s], 300000 + s, "BUSN"
        if "," in name or '"' in name:
            name = '"' + name.replace('"', '""') + '"'
        write(
            f"18,Devon County Council,{day:%d/%m/%Y},T{n:09d},INV{rng.randrange(10**9):09d},"
            f"{amount(rng)},{name},{supplier_id},,{area},\"{kind}\",{code},{creditor}\r\n"
        )
    write(",,,Total,,,,,,,,,\r\n")
    if out is not sys.stdout:
        out.close()


def contracts(args):
    rng = random.Random(args.seed * 31 + 7)
    suppliers = supplier_names(args.suppliers, args.seed)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    buyer = {"id": args.publisher, "name": "Devon County Council"}
    for n in range(args.contracts):
        s = n % len(suppliers)
        supplier = {"id": f"GB-COH-{10000000 + s:08d}", "name": suppliers[s]}
        start = START + datetime.timedelta(days=rng.randrange(DAYS - 365))
        end = start + datetime.timedelta(days=rng.randrange(365, 4 * 365))
        value = round(rng.lognormvariate(11.5, 1.0) + 10000, 2)
        ocid = f"ocds-bench1-{n:07d}"
        period = {"startDate": f"{start}T00:00:00Z", "endDate": f"{end}T23:59:59Z"}
        release = {
            "ocid": ocid,
            "id": f"{ocid}-award",
            "date": f"{start}T00:00:00Z",
            "tag": ["award", "contract"],
            "initiationType": "tender",
            "parties": [
                dict(buyer, roles=["buyer"]),
                dict(supplier, roles=["supplier"]),
            ],
            "buyer": buyer,
            "tender": {"id": f"T{n}", "title": f"{TRADES[n % len(TRADES)]} services lot {n}"},
            "awards": [
                {
                    "id": "1",
                    "status": "active",
                    "suppliers": [supplier],
                    "value": {"amount": value, "currency": "GBP"},
                    "contractPeriod": period,
                }
            ],
            "contracts": [
                {
                    "id": "1",
                    "awardID": "1",
                    "status": "active",
                    "period": period,
                    "value": {"amount": value, "currency": "GBP"},
                }
            ],
        }
        out.write(json.dumps(release, separators=(",", ":")) + "\n")
    if out is not sys.stdout:
        out.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    for name in ("spend", "contracts"):
        p = sub.add_parser(name)
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--suppliers", type=int, default=20000)
        p.add_argument("--out")
        if name == "spend":
            p.add_argument("--rows", type=int, default=1_000_000)
        else:
            p.add_argument("--contracts", type=int, default=100_000)
            p.add_argument("--publisher", default="GB-LAE-DEV")
    args = parser.parse_args()
    spend(args) if args.kind == "spend" else contracts(args)


if __name__ == "__main__":
    main()
