#!/usr/bin/env python3
"""Makes a large GGUF model from a small one by tiling every tensor N times along its outermost
dimension (same tensor types, names, metadata), for the large-model benchmark rows of
docs/benchmarks.md (issue 18): the MiniLM base and fine-tune of ../shared/corpus, tiled 20
times, give a ~490 MB Q8_0 pair whose per-tensor changes are the real fine-tune's.

    python3 tile_gguf.py IN.gguf OUT.gguf [N]      (N defaults to 20; needs gguf, numpy)
"""
import sys

import gguf
import numpy as np


def tile(src: str, dst: str, times: int) -> None:
    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"]
    writer = gguf.GGUFWriter(dst, bytes(arch.parts[arch.data[0]]).decode())
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        value = field.contents()
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(field.name, value, vtype, sub_type=field.types[-1])
        else:
            writer.add_key_value(field.name, value, vtype)
    for t in reader.tensors:
        # t.data is outermost-first (numpy order; quantised types as bytes per row): repeat it
        # along axis 0, the outermost dimension.
        data = np.concatenate([np.asarray(t.data)] * times, axis=0)
        writer.add_tensor(t.name, data, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    tile(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 20)
