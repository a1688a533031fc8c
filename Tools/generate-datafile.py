#!/usr/bin/env python3
"""Writes a synthetic ICAT data file (python-icat's icatdata format, XML or YAML) of any size to stdout.

    Tools/generate-datafile.py --datafiles 1000000 [--per-dataset 100] [--format xml|yaml] [--prefix G]

One facility with its types and two parameter types, then investigations of 10 datasets each, datasets of
--per-dataset datafiles, and every datafile with two parameters (a number and a string), nested as icatdump
nests them. Labels follow python-icat's unique-key form. --prefix makes names unique across several files.
Used by the import benchmark and the bounded-memory check (Tools/bench-import.sh).
"""
import argparse
import sys


def quote(text):
    return "".join(c if c.isalnum() and c.isascii() else "=%02X" % ord(c) for c in text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--datafiles", type=int, required=True)
    parser.add_argument("--per-dataset", type=int, default=100)
    parser.add_argument("--format", choices=["xml", "yaml"], default="xml")
    parser.add_argument("--prefix", default="G")
    args = parser.parse_args()
    out = sys.stdout
    write = out.write
    p = args.prefix
    fac = f"Facility_name-{quote(p + 'FAC')}"
    fac_inner = fac.split("_", 1)[1]
    datasets = (args.datafiles + args.per_dataset - 1) // args.per_dataset
    if args.format == "xml":
        write('<?xml version="1.0" encoding="utf-8"?>\n<icatdata>\n<head>\n  <date>2026-01-01T00:00:00+00:00</date>\n'
              '  <apiversion>6.2.0</apiversion>\n  <generator>generate-datafile.py</generator>\n</head>\n<data>\n')
        write(f'  <facility id="{fac}">\n    <name>{p}FAC</name>\n  </facility>\n')
        write(f'  <investigationType id="InvestigationType_facility-({fac_inner})_name-exp">\n    <name>exp</name>\n'
              f'    <facility ref="{fac}"/>\n  </investigationType>\n')
        write(f'  <datasetType id="DatasetType_facility-({fac_inner})_name-raw">\n    <name>raw</name>\n'
              f'    <facility ref="{fac}"/>\n  </datasetType>\n')
        write(f'  <parameterType id="PT_T">\n    <name>temperature</name>\n    <units>K</units>\n'
              f'    <valueType>NUMERIC</valueType>\n    <applicableToDatafile>true</applicableToDatafile>\n'
              f'    <facility ref="{fac}"/>\n  </parameterType>\n')
        write(f'  <parameterType id="PT_M">\n    <name>mode</name>\n    <units>N/A</units>\n'
              f'    <valueType>STRING</valueType>\n    <applicableToDatafile>true</applicableToDatafile>\n'
              f'    <facility ref="{fac}"/>\n  </parameterType>\n</data>\n')
        n = 0
        for d in range(datasets):
            write("<data>\n")
            inv = f"Investigation_facility-({fac_inner})_name-{p}INV{d // 10}_visitId-1"
            if d % 10 == 0:
                write(f'  <investigation id="{inv}">\n    <name>{p}INV{d // 10}</name>\n    <visitId>1</visitId>\n'
                      f'    <title>Synthetic investigation {d // 10}</title>\n    <facility ref="{fac}"/>\n'
                      f'    <type ref="InvestigationType_facility-({fac_inner})_name-exp"/>\n  </investigation>\n')
            ds = f"Dataset_{d}"
            write(f'  <dataset id="{ds}">\n    <name>ds{d}</name>\n    <investigation ref="{inv}"/>\n'
                  f'    <type ref="DatasetType_facility-({fac_inner})_name-raw"/>\n  </dataset>\n')
            for f in range(min(args.per_dataset, args.datafiles - n)):
                write(f'  <datafile>\n    <fileSize>{1000 + f}</fileSize>\n    <location>/data/{p}/{d}/f{f}.nxs</location>\n'
                      f'    <name>f{f}.nxs</name>\n    <dataset ref="{ds}"/>\n'
                      f'    <parameters>\n      <numericValue>{f % 300}.5</numericValue>\n      <type ref="PT_T"/>\n    </parameters>\n'
                      f'    <parameters>\n      <stringValue>mode{f % 3}</stringValue>\n      <type ref="PT_M"/>\n    </parameters>\n'
                      f'  </datafile>\n')
            n += min(args.per_dataset, args.datafiles - n)
            write("</data>\n")
        write("</icatdata>\n")
    else:
        write("%YAML 1.1\n# Generator: generate-datafile.py\n---\n")
        write(f"facility:\n  {fac}:\n    name: {p}FAC\n")
        write(f"investigationType:\n  InvestigationType_facility-({fac_inner})_name-exp:\n    name: exp\n    facility: {fac}\n")
        write(f"datasetType:\n  DatasetType_facility-({fac_inner})_name-raw:\n    name: raw\n    facility: {fac}\n")
        write(f"parameterType:\n  PT_T:\n    name: temperature\n    units: K\n    valueType: NUMERIC\n"
              f"    applicableToDatafile: true\n    facility: {fac}\n"
              f"  PT_M:\n    name: mode\n    units: N/A\n    valueType: STRING\n    applicableToDatafile: true\n"
              f"    facility: {fac}\n")
        n = 0
        for d in range(datasets):
            write("---\n")
            inv = f"Investigation_facility-({fac_inner})_name-{p}INV{d // 10}_visitId-1"
            if d % 10 == 0:
                write(f"investigation:\n  {inv}:\n    name: {p}INV{d // 10}\n    visitId: '1'\n"
                      f"    title: Synthetic investigation {d // 10}\n    facility: {fac}\n"
                      f"    type: InvestigationType_facility-({fac_inner})_name-exp\n")
            write(f"dataset:\n  Dataset_{d}:\n    name: ds{d}\n    investigation: {inv}\n"
                  f"    type: DatasetType_facility-({fac_inner})_name-raw\n")
            write("datafile:\n")
            for f in range(min(args.per_dataset, args.datafiles - n)):
                write(f"  DF_{d}_{f}:\n    fileSize: {1000 + f}\n    location: /data/{p}/{d}/f{f}.nxs\n    name: f{f}.nxs\n"
                      f"    dataset: Dataset_{d}\n    parameters:\n    - numericValue: {f % 300}.5\n      type: PT_T\n"
                      f"    - stringValue: mode{f % 3}\n      type: PT_M\n")
            n += min(args.per_dataset, args.datafiles - n)
        write("...\n")


if __name__ == "__main__":
    main()
