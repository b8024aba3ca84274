#!/usr/bin/env bash
# The CUDA tests and GPU measurements that the 2-core development machines cannot make, for one
# call of the device machine (see .dev_scripts/README.md). Sections run in the order given (time limits):
#   env       GPU, driver and package versions (60 s)
#   tests     tests/test_cuda.py: the golden cases, autocast, AMP and the fast inference mode on CUDA (300 s)
#   fast_b1   issue 13: the fast inference mode (deploy form compiled + CUDA graphs) against eager, timm and
#             HF eager and timm compiled (reduce-overhead), batch 1, SIZE_A, fp16 (280 s)
#   fast_bn   the same at batch 16, SIZE_B (280 s)
#   neck_b1   fast_b1 with Mask R-CNN's FPN neck after every backbone, as tools/test.py --compile --cuda-graphs
#             runs backbone and neck (280 s)
#   seg_b1    fast_b1 with the ADE20K configs' FPN neck and decode head, batch 1, SIZE_B (a slide-inference crop),
#             as tools/test.py --compile --cuda-graphs runs a Semantic FPN (280 s)
#   trainc    issue 13: the training form's training step compiled against eager, batch 8, SIZE_B, fp16 (240 s)
#   table_a   issue 12: the README's GPU rows at SIZE_A (both forms, timm, HF, ResNet-50; fp32, fp16) (150 s)
#   table_b   the same at SIZE_B (fp32, fp16, bf16) (180 s)
#   table_cl  table_b with every model in both memory formats, NCHW and channels-last, in one run: how much NHWC
#             pays for training, AMP above all (cuDNN's tensor-core layout), within one run; on CUDA this project's
#             training form computes in the layout of its weights, so its two rows are the decision whether to add
#             'cuda' to CHANNELS_LAST_DEVICES (swiftformer_mm/models/swiftformer.py) (300 s)
#   trainbd   where the training step's GPU time goes, by kind of op and by kernel, fp32 and HALF, NCHW and
#             channels-last (the benchmark's breakdown mode): PyTorch sends NCHW depth-wise convolutions in
#             fp32 and bf16 to its own kernels, channels-last ones to cuDNN (200 s)
# Each section's full output lands in $OUT/<section>*.txt (JSON beside the benchmark tables; both replaced by a rerun); its
# tail is printed. Without a GPU, DEV=cpu ARCH=xs SIZE_A=64x64 SIZE_B=64x64 HALF=bf16 dry-runs the wiring.
set -u
OUT=${OUT:-/tmp/gpu_checks}
mkdir -p "$OUT"
if ! python3 -c 'import mmengine' 2>/dev/null; then  # the device machine lacks these: .whl/ carries them
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || exit 1
    export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1
[ -d .devrun/golden ] && export SWIFTFORMER_GOLDEN_DIR=$PWD/.devrun/golden
DEV=${DEV:-cuda} ARCH=${ARCH:-l1} REPS=${REPS:-20} A=${SIZE_A:-800x1216} B=${SIZE_B:-512x512} HALF=${HALF:-fp16}
BENCH=(python3 tools/analysis_tools/benchmark.py --device "$DEV" --arch "$ARCH" --no-macs --reps "$REPS" --overwrite)

run() {  # run NAME SECONDS COMMAND...: the command under a time limit, its output to $OUT/NAME.txt
    local name=$1 limit=$2
    shift 2
    echo "== $name $(date +%T) (limit ${limit} s): $*"
    timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
    echo "== $name: exit $? at $(date +%T)"
    grep -vE '^\s*$|^USDT|CPUAllocator' "$OUT/$name.txt" | tail -n "${TAIL:-24}"
}

sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(env tests fast_b1 fast_bn neck_b1 seg_b1 trainc table_a table_b table_cl trainbd)
for section in "${sections[@]}"; do
    case $section in
    env)
        run env 60 python3 -c "import torch, mmengine; print(torch.cuda.get_device_name() if torch.cuda.is_available() \
else 'no CUDA', 'torch', torch.__version__, 'CUDA', torch.version.cuda, 'mmengine', mmengine.__version__)
for name in ('timm', 'transformers', 'torchvision', 'triton'):
    try:
        print(name, __import__(name).__version__)
    except Exception as error:
        print(name, 'absent:', error)" ;;
    tests)
        run tests 300 python3 -m pytest tests/test_cuda.py -q -rA -p no:cacheprovider ;;
    fast_b1)
        run fast_b1 280 "${BENCH[@]}" --sizes "$A" --dtypes "$HALF" --passes latency --compile --cuda-graphs \
            --out-json "$OUT/fast_b1.json" ;;
    fast_bn)
        run fast_bn 280 "${BENCH[@]}" --sizes "$B" --dtypes "$HALF" --passes throughput --batch 16 --compile \
            --cuda-graphs --out-json "$OUT/fast_bn.json" ;;
    neck_b1)
        run neck_b1 280 "${BENCH[@]}" --sizes "$A" --dtypes "$HALF" --passes latency --compile --cuda-graphs --with-neck \
            --out-json "$OUT/neck_b1.json" ;;
    seg_b1)
        run seg_b1 280 "${BENCH[@]}" --sizes "$B" --dtypes "$HALF" --passes latency --compile --cuda-graphs \
            --with-neck semantic-fpn --out-json "$OUT/seg_b1.json" ;;
    trainc)
        run trainc 240 "${BENCH[@]}" --sizes "$B" --dtypes "$HALF" --passes train --train-batch 8 --compile --no-peers \
            --out-json "$OUT/trainc.json" ;;
    table_a)
        run table_a 150 "${BENCH[@]}" --sizes "$A" --dtypes fp32 fp16 --passes latency train --train-batch 2 \
            --out-json "$OUT/table_a.json" ;;
    table_b)
        run table_b 180 "${BENCH[@]}" --sizes "$B" --dtypes fp32 fp16 bf16 --passes throughput train --batch 16 \
            --train-batch 8 --out-json "$OUT/table_b.json" ;;
    table_cl)
        run table_cl 300 "${BENCH[@]}" --sizes "$B" --dtypes fp32 fp16 bf16 --passes throughput train --batch 16 \
            --train-batch 8 --layouts nchw channels-last --out-json "$OUT/table_cl.json" ;;
    trainbd)
        TAIL=40 run trainbd 200 python3 tools/analysis_tools/benchmark.py --mode breakdown --device "$DEV" --arch "$ARCH" \
            --reps "$REPS" --sizes "$B" --dtypes fp32 "$HALF" --passes train --train-batch 8 --layouts nchw channels-last \
            --out-json "$OUT/trainbd.json" --overwrite ;;
    *)
        echo "unknown section '$section' (env, tests, fast_b1, fast_bn, neck_b1, seg_b1, trainc, table_a, table_b, table_cl,"\
            "trainbd)"
        exit 2 ;;
    esac
done
