#!/usr/bin/env bash
# Builds the device codec (nanopb backend, no protobuf-c, no heap) for a
# Cortex-M4 and reports flash, RAM and worst-case stack (footprint.py).
#
# usage: codec/footprint/footprint.sh OUTDIR GENDIR NANOPB_SRC
set -euo pipefail
out=$1; gen=$2; npb=$3
cd "$(dirname "$0")/../.."

bash codec/tools/fetch-nanopb.sh "$npb"

CC=arm-none-eabi-gcc
ARCH="-mcpu=cortex-m4 -mthumb"
# PB_BUFFER_ONLY: we only decode from and encode to memory buffers;
# PB_NO_ERRMSG: the codec reports its own errors.  No PB_ENABLE_MALLOC.
CFLAGS="$ARCH -Os -ffunction-sections -fdata-sections -fstack-usage -fcallgraph-info=su
        -std=c11 -DPANP_NO_PROTOBUF_C -DPB_BUFFER_ONLY -DPB_NO_ERRMSG
        -Icodec/include -I$gen/nanopb -I$npb"
rm -rf "$out"
mkdir -p "$out"/codec "$out"/nanopb "$out"/gen "$out"/app
for m in schema text fmt wire validate size backend_nanopb framer uuid status names codec; do
  $CC $CFLAGS -Wall -Wextra -Werror -c codec/src/$m.c -o "$out/codec/$m.o" -dumpbase "$out/codec/$m.c"
done
for m in pb_common pb_decode pb_encode; do
  $CC $CFLAGS -c "$npb/$m.c" -o "$out/nanopb/$m.o" -dumpbase "$out/nanopb/$m.c"
done
$CC $CFLAGS -c "$gen/nanopb/panp/v1/panp.pb.c" -o "$out/gen/panp.pb.o" -dumpbase "$out/gen/panp.pb.c"
$CC $CFLAGS -Wall -Wextra -Werror -c codec/footprint/device_main.c -o "$out/app/device_main.o" \
  -dumpbase "$out/app/device_main.c"
# The per-body storage the codec asks for, computed by the target compiler.
$CC $CFLAGS -S codec/footprint/storage_sizes.c -o "$out/storage_sizes.s"
$CC $ARCH --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections -Wl,-Map="$out/device.map" \
  -o "$out/device.elf" "$out"/*/*.o
arm-none-eabi-objdump -d "$out/device.elf" >"$out/device.dis"
/usr/bin/python3 codec/footprint/footprint.py "$out"
