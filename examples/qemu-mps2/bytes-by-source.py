#!/usr/bin/env python3
"""Where an ELF's code bytes go, by the source function they came from.

`nm --size-sort` charges inlined code to the function it was inlined into (with fat LTO most
of mallorn-runtime lands in the example's `flow::*`). This walks the DWARF instead: every
byte of a function or of an inlined copy is charged to that function, minus what is inlined
into it, so the totals add up to the linked code and name the source that costs it.

    python3 bytes-by-source.py ELF [--by module|function] [--top N]

Needs `llvm-dwarfdump` (Debian: llvm). The ELF must carry debug info (the example's release
profile has `debug = true`). Code the linker dropped (address 0) is not counted.
"""

import argparse
import collections
import re
import subprocess

DIE = re.compile(r"^0x([0-9a-f]+):(\s+)(DW_TAG_\w+)")
ATTR = re.compile(r"^\s+(DW_AT_\w+)\s+\((.*)\)$")
RANGE = re.compile(r"^\s+\[0x([0-9a-f]+), 0x([0-9a-f]+)\)\)?$")
FUNCTIONS = ("DW_TAG_subprogram", "DW_TAG_inlined_subroutine")
SCOPES = ("DW_TAG_namespace", "DW_TAG_structure_type", "DW_TAG_enumeration_type",
          "DW_TAG_union_type")
# Vector table and startup live below this address on the example's memory map.
FIRST_CODE_ADDRESS = 0x400


def read_dies(elf):
    text = subprocess.run(["llvm-dwarfdump", "--debug-info", elf], check=True,
                          capture_output=True, text=True).stdout
    dies, stack = [], []
    for line in text.splitlines():
        m = DIE.match(line)
        if m:
            die = {"off": int(m.group(1), 16), "depth": len(m.group(2)), "tag": m.group(3),
                   "attrs": {}, "ranges": []}
            while stack and stack[-1]["depth"] >= die["depth"]:
                stack.pop()
            die["parent"] = stack[-1] if stack else None
            stack.append(die)
            dies.append(die)
            continue
        if not dies:
            continue
        m = ATTR.match(line)
        if m:
            dies[-1]["attrs"][m.group(1)] = m.group(2)
            continue
        m = RANGE.match(line)
        if m:
            dies[-1]["ranges"].append((int(m.group(1), 16), int(m.group(2), 16)))
    return dies


def ranges(die):
    found = list(die["ranges"])
    attrs = die["attrs"]
    if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
        low = int(attrs["DW_AT_low_pc"], 16)
        high = attrs["DW_AT_high_pc"]
        found.append((low, int(high, 16) if high.startswith("0x") else low + int(high)))
    return [(lo, hi) for lo, hi in found if lo >= FIRST_CODE_ADDRESS]


def path(die, by_offset, hops=0):
    """The function's qualified name, following the abstract origin of an inlined copy."""
    for key in ("DW_AT_abstract_origin", "DW_AT_specification"):
        m = re.match(r"0x([0-9a-f]+)", die["attrs"].get(key, ""))
        if m and hops < 8 and int(m.group(1), 16) in by_offset:
            return path(by_offset[int(m.group(1), 16)], by_offset, hops + 1)
    parts = [die["attrs"].get("DW_AT_name", "?").strip('"')]
    scope = die["parent"]
    while scope:
        if scope["tag"] in SCOPES:
            parts.append(scope["attrs"].get("DW_AT_name", "?").strip('"'))
        scope = scope["parent"]
    return re.sub(r"<.*", "", "::".join(reversed(parts)))


def own_bytes(dies):
    """Bytes per function: its ranges minus those of the copies inlined directly into it."""
    by_offset = {d["off"]: d for d in dies}
    owned = collections.Counter()
    for i, die in enumerate(dies):
        if die["tag"] not in FUNCTIONS:
            continue
        size = sum(hi - lo for lo, hi in ranges(die))
        if not size:
            continue
        for inner in dies[i + 1:]:
            if inner["depth"] <= die["depth"]:
                break
            if inner["tag"] != "DW_TAG_inlined_subroutine":
                continue
            scope = inner["parent"]
            while scope is not die and scope["tag"] != "DW_TAG_inlined_subroutine":
                scope = scope["parent"]
            if scope is die:
                size -= sum(hi - lo for lo, hi in ranges(inner))
        owned[path(die, by_offset)] += size
    return owned


def module_of(function):
    parts = function.split("::")
    depth = 3 if parts[0].startswith("mallorn") else 2
    return "::".join(parts[:depth])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("elf")
    parser.add_argument("--by", choices=("module", "function"), default="module")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    owned = own_bytes(read_dies(args.elf))
    if args.by == "module":
        grouped = collections.Counter()
        for function, size in owned.items():
            grouped[module_of(function)] += size
        owned = grouped
    for name, size in owned.most_common(args.top):
        print(f"{size:8,d}  {name}")
    print(f"{sum(owned.values()):8,d}  total")


if __name__ == "__main__":
    main()
