#!/usr/bin/env bash
# lint.sh — the repository's C++ style and static checks, as CI runs them.
#   bash tools/lint.sh format     every tracked C++ file formatted by .clang-format (clang-format 14)
#   bash tools/lint.sh tidy BUILD .clang-tidy's checks on the translation units that do not include
#                                 LibTorch (parsing LibTorch's headers takes minutes per file on 2 cores)
#   bash tools/lint.sh fix        apply clang-format in place
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-format}
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh')
case "$mode" in
  format)
    "$CLANG_FORMAT" --dry-run -Werror "${files[@]}"
    long=$(awk 'length > 120 {print FILENAME ":" FNR}' "${files[@]}")
    if [ -n "$long" ]; then echo "lines over 120 columns:"; echo "$long"; exit 1; fi
    echo "format: ${#files[@]} files clean" ;;
  fix)
    "$CLANG_FORMAT" -i "${files[@]}" ;;
  tidy)
    build=${2:-build}
    # The units of src/ that include no LibTorch header, directly or through fourmi's headers.
    units=()
    for f in $(git ls-files 'src/*.cpp' | grep -v 'pch.cpp$'); do
      g++ -std=c++17 -Iinclude -I"$build/generated" -I/usr/include/hdf5/serial -E "$f" > /dev/null 2>&1 && units+=("$f")
    done
    [ ${#units[@]} -gt 0 ] || { echo "tidy: no LibTorch-free units found"; exit 1; }
    "$CLANG_TIDY" --quiet --warnings-as-errors='*' "${units[@]}" -- -std=c++17 -Iinclude -I"$build/generated" \
      -I/usr/include/hdf5/serial -DFMT_HEADER_ONLY=1 -DFOURMI_TOOLS_DIR_DEFAULT='"tools"' -DFOURMI_PYTHON_DEFAULT='"python3"'
    echo "tidy: ${#units[@]} units clean: ${units[*]}" ;;
  *) echo "usage: lint.sh format|fix|tidy [BUILD]" >&2; exit 2 ;;
esac
