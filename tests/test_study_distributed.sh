#!/usr/bin/env bash
# The study binary data parallel under `mpirun -np 2 study --distributed`, on a small
# synthetic CIFAR-10 (scripts/make-consumer-inputs), as CTest runs it (tests/CMakeLists.txt):
#   1. two ranks at batch 100 print the epoch lines of one process at batch 100, within
#      float32 rounding (test_distributed checks the steps themselves, bit by bit);
#   2. rank 0 alone prints and writes: one header, one set of results and checkpoints;
#   3. resumed with --resume after 2 epochs for a third, the two ranks read rank 0's
#      checkpoint and go on: epoch 3's line and the model file are an uninterrupted 3-epoch
#      run's (test_distributed resumes mid-epoch, bit for bit);
#   4. a batch that does not split over the ranks, or mpirun without --distributed, is a
#      clear error and a non-zero exit, never a hang.
#
#   tests/test_study_distributed.sh STUDY_BINARY MAKE_INPUTS_SCRIPT DEVICE [MPIEXEC]
set -euo pipefail
study="$1"
make_inputs="$2"
device="$3"
mpiexec="${4:-mpirun}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 MINIDL_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$make_inputs" "$work/inputs" 200 >/dev/null
data=(--data-dir "$work/inputs/cifar-10-batches-bin" --records-per-file 200 --device "$device" --runs large_batch)

fail() {
  echo "test_study_distributed: FAILED: $*" >&2
  exit 1
}
two_ranks() { timeout 120 "$mpiexec" -np 2 --oversubscribe "$study" "$@"; }
# refused WHAT ARGS...: two ranks must exit non-zero, and not by the timeout (a hang).
refused() {
  local what="$1" status=0
  shift
  two_ranks "$@" > "$work/refused.txt" 2>&1 || status=$?
  [[ $status -ne 0 ]] || fail "$what was accepted"
  [[ $status -ne 124 ]] || fail "$what hung until the timeout"
}
epoch_lines() { grep -E '^epoch: ' "$1" || true; }

# 1. Two ranks against one process, epoch by epoch: the same correct counts within 1 %
# of the images, total losses within 1e-4 relative.
"$study" "${data[@]}" --epochs 2 --output-dir "$work/one" > "$work/one.txt"
two_ranks --distributed "${data[@]}" --epochs 2 --output-dir "$work/two" > "$work/two.txt"
paste -d '|' <(epoch_lines "$work/one.txt") <(epoch_lines "$work/two.txt") | awk -F'|' '
  { split($1, a, " "); split($2, b, " ");
    # "epoch: E correct times: C training accuracy: A % total_loss: L"
    if (a[2] != b[2]) { print "epoch numbers differ: " $0; bad = 1 }
    if ((a[5] - b[5]) ^ 2 > 10 ^ 2) { print "correct counts differ by more than 10 of 1000: " $0; bad = 1 }
    if ((a[11] - b[11]) ^ 2 > (1e-4 * a[11]) ^ 2) { print "total losses differ by more than 1e-4: " $0; bad = 1 }
    n++ }
  END { if (n != 2) { print n " epoch line pairs, expected 2"; bad = 1 } exit bad }' ||
  fail "two ranks differ from one process (above)"

# 2. Rank 0 alone speaks and writes.
[[ $(grep -c '^minidl study:' "$work/two.txt") == 1 ]] || fail "the header was printed more than once"
grep -q 'data parallel over 2 ranks' "$work/two.txt" || fail "the header does not say data parallel"
for file in results.csv results.json report.md checkpoints/large_batch.safetensors models/large_batch.safetensors; do
  [[ -f "$work/two/$file" ]] || fail "rank 0 did not write $file"
done

# 3. --resume from rank 0's checkpoint gives the bits of an uninterrupted run.
two_ranks --distributed "${data[@]}" --epochs 3 --output-dir "$work/three" > "$work/three.txt"
two_ranks --distributed "${data[@]}" --epochs 3 --output-dir "$work/two" --resume > "$work/resumed.txt"
grep -q "resumed from $work/two/checkpoints/large_batch.safetensors: epoch 2, step 0" "$work/resumed.txt" ||
  fail "the resumed run did not say where it resumed from: $(cat "$work/resumed.txt")"
[[ "$(epoch_lines "$work/three.txt")" == "$(epoch_lines "$work/two.txt"; epoch_lines "$work/resumed.txt")" ]] ||
  fail "resumed epochs differ from an uninterrupted run's"
cmp -s "$work/three/models/large_batch.safetensors" "$work/two/models/large_batch.safetensors" ||
  fail "the resumed run's model differs from an uninterrupted run's"

# 4. Refused at once, with the reason.
refused "a batch of 25 over 2 ranks" --distributed "${data[@]}" --batch-size 25 --epochs 1 --output-dir "$work/odd"
grep -q "the batch size 25 does not divide by the 2 ranks" "$work/refused.txt" ||
  fail "no clear error: $(cat "$work/refused.txt")"
refused "mpirun without --distributed" "${data[@]}" --epochs 1 --output-dir "$work/alone"
grep -q "without --distributed" "$work/refused.txt" || fail "no clear error: $(cat "$work/refused.txt")"
echo "test_study_distributed ($device): two ranks match one process, rank 0 writes, --resume goes on, bad launches refused"
