"""
Regenerate ``member_states.csv``, the 193 United Nations Member States, from the OCHA
Countries & Territories Taxonomy bundled with ``hdx-python-country``.

The tracker never fetches country data at run time: this script is run by hand, once
in a while, and its output is committed. ``hdx-python-country`` is not a dependency of
the project; install it in a throwaway virtual environment::

    python3.12 -m venv /tmp/hdx && /tmp/hdx/bin/pip install hdx-python-country
    /tmp/hdx/bin/python states/data/generate_member_states.py

``use_live=False`` makes the package read the copy of the taxonomy shipped inside it
rather than the live OCHA feed, so the output depends only on the package version
(4.2.5 for the committed file). Review the diff before committing it.

Licence: ``hdx-python-country`` is MIT-licensed; the taxonomy is published by OCHA
(UN Office for the Coordination of Humanitarian Affairs) on the Humanitarian Data
Exchange.

Choices:

* A Member State is a row whose "Appears in DGACM list" column is "Y" (193 rows).
  The UNTERM list is wider: it adds the two observer States and two States in free
  association with New Zealand.
* ``name`` is the taxonomy's English short name, e.g. "Bolivia (Plurinational State of)",
  except where ``NAME_CORRECTIONS`` gives the name the UN itself uses: the taxonomy
  spells Nauru in Nauruan ("Naoero"), which nobody would search for.
* ``m49_subregion`` is the M49 intermediate region where one exists (Caribbean,
  Central America, South America, Eastern/Middle/Southern/Western Africa) and the M49
  sub-region otherwise. M49 puts all of Latin America and the Caribbean, and all of
  Sub-Saharan Africa, in one sub-region each; analysts mean the intermediate region
  when they say "the Caribbean" or "Western Africa".
"""

import csv
from pathlib import Path

from hdx.location.country import Country

OUTPUT = Path(__file__).with_name("member_states.csv")
COLUMNS = ["iso3", "iso2", "m49", "name", "m49_region", "m49_subregion"]
EXPECTED_MEMBERS = 193
NAME_CORRECTIONS = {"NRU": "Nauru"}


def member_state_rows():
    """One dict per UN Member State, sorted by ISO3, with the columns of ``COLUMNS``."""
    countries = Country.countriesdata(use_live=False)["countries"]
    rows = []
    for info in countries.values():
        if info.get("Appears in DGACM list") != "Y":
            continue
        rows.append(
            {
                "iso3": info["ISO 3166-1 Alpha 3-Codes"],
                "iso2": info["ISO 3166-1 Alpha 2-Codes"],
                "m49": f"{int(info['m49 numerical code']):03d}",
                "name": NAME_CORRECTIONS.get(info["ISO 3166-1 Alpha 3-Codes"], info["English Short"]),
                "m49_region": info["Region Name"],
                "m49_subregion": info["Intermediate Region Name"] or info["Sub-region Name"],
            }
        )
    if len(rows) != EXPECTED_MEMBERS:
        raise SystemExit(f"Expected {EXPECTED_MEMBERS} Member States, found {len(rows)}: check the taxonomy.")
    return sorted(rows, key=lambda row: row["iso3"])


def main():
    rows = member_state_rows()
    with OUTPUT.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"Wrote {len(rows)} Member States to {OUTPUT}.")


if __name__ == "__main__":
    main()
