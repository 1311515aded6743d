#!/usr/bin/env python3
"""Writes the small .npy files NPYTests reads; the tests never run Python.

Run from anywhere: python3 make_npy_fixtures.py (numpy >= 1.17). Each file's producing
call is beside its name below, and the Swift tests state the same values.
"""
import os

import numpy as np
from numpy.lib import format as npy_format

HERE = os.path.dirname(os.path.abspath(__file__))

HALF_SPECIALS = [
    0.0, -0.0, 1.0, -2.0, 0.5, 0.1, 65504.0,  # 0.1 rounds to 0.0999755859375
    2.0**-14,                   # smallest normal, 0x0400
    2.0**-24,                   # smallest subnormal, 0x0001
    2.0**-15 + 2.0**-24,        # subnormal 0x0201
    -(2.0**-20),                # negative subnormal 0x8010
    np.inf, -np.inf, np.nan,    # 0x7c00, 0xfc00, 0x7e00
]

FLOAT_SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4028235e38, -0.1]

DOUBLE_SPECIALS = [-2.5, 0.1, 1e300, -1e300, -1e-50, 2.0**-149, np.nan,
                   1.0 + 2.0**-24, 1.0 + 3 * 2.0**-24]  # the last two are ties to even


def save(name, array, version=None):
    path = os.path.join(HERE, name)
    if version is None:
        np.save(path, array)
    else:
        with open(path, "wb") as file:
            npy_format.write_array(file, array, version=version)


def main():
    arange6 = np.arange(6).reshape(2, 3)
    # float32, little-endian, C order; also compared byte for byte with NPY.encode.
    save("f4_arange_2x3.npy", arange6.astype("<f4"))
    save("f4_scalar.npy", np.array(-1.5, dtype="<f4"))
    save("f4_vector_5.npy", np.arange(5, dtype="<f4") * np.float32(0.25))
    save("f4_empty_0x3.npy", np.zeros((0, 3), dtype="<f4"))
    save("f4_rank6.npy", np.arange(24, dtype="<f4").reshape(1, 2, 1, 3, 4, 1))
    save("f4_special.npy", np.array(FLOAT_SPECIALS, dtype="<f4"))
    # Other widths and byte orders, converted to float32 on read.
    save("f8_arange_2x3.npy", (arange6 - 2.5).astype("<f8"))
    save("f8_special.npy", np.array(DOUBLE_SPECIALS, dtype="<f8"))
    save("f2_special.npy", np.array(HALF_SPECIALS, dtype="<f2"))
    save("f4_big_arange_2x3.npy", arange6.astype(">f4"))
    save("f8_big_arange_2x3.npy", (arange6 - 2.5).astype(">f8"))
    save("f2_big_special.npy", np.array(HALF_SPECIALS, dtype=">f2"))
    # Fortran order: element [i, j, k] stored at i + a * (j + b * k).
    save("f4_fortran_2x3.npy", np.asfortranarray(arange6.astype("<f4")))
    save("f4_fortran_2x3x4.npy",
         np.asfortranarray(np.arange(24, dtype="<f4").reshape(2, 3, 4)))
    save("f8_big_fortran_3x2x2.npy",
         np.asfortranarray(np.arange(12, dtype=">f8").reshape(3, 2, 2)))
    # Format versions 2.0 and 3.0 (4-byte header length).
    save("f4_v2_arange_2x3.npy", arange6.astype("<f4"), version=(2, 0))
    save("f4_v3_arange_2x3.npy", arange6.astype("<f4"), version=(3, 0))
    # An integer file, which NPY refuses.
    save("i4_arange_4.npy", np.arange(4, dtype="<i4"))


if __name__ == "__main__":
    main()
