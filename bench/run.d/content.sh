# Content layer (sourced by bench/run): the tree pipeline, durable put, verified decode and the
# size overhead of a range stream, each against a reference measured on the same file.
thunder="$build/apps/thunder/thunder"
id=$(b3sum --no-names "$tmp/blob")

# Hashing pipeline alone (tree + outboard, no store): `thunder verify` vs b3sum.
ref=$(best_seconds b3sum --num-threads 1 --no-names "$tmp/blob")
ours=$(best_seconds "$thunder" verify "$tmp/blob" --id "$id")
echo "| tree hash + outboard (\`thunder verify\`) | $(gbps "$ours") GB/s | b3sum --num-threads 1: $(gbps "$ref") GB/s | $(ratio "$ref" "$ours") |"

# Durable put vs the I/O floor: copying the file into the same file system and syncing it.
floor_copy() { cp "$tmp/blob" "$tmp/copy" && sync "$tmp/copy" && rm -f "$tmp/copy"; }
fresh_put() { rm -rf "$tmp/data" && "$thunder" --data-dir "$tmp/data" put "$tmp/blob"; }
floor=$(best_seconds floor_copy)
put=$(best_seconds fresh_put)
echo "| \`thunder put\` (data + outboard durable) | $(gbps "$put") GB/s | cp + sync: $(gbps "$floor") GB/s | $(ratio "$floor" "$put") (time ratio put/floor: $(ratio "$put" "$floor")) |"

# Verified decode of the whole blob vs hashing it.
"$thunder" --data-dir "$tmp/data" encode "$id" > "$tmp/stream"
cat "$tmp/stream" > /dev/null
decode() { "$thunder" decode --id "$id" < "$tmp/stream"; }
dec=$(best_seconds decode)
echo "| verified stream decode (\`thunder decode\`, one thread) | $(gbps "$dec") GB/s | one-thread hash (b3sum): $(gbps "$ref") GB/s | $(ratio "$ref" "$dec") |"
echo "| verified stream decode (\`thunder decode\`, one thread) | $(gbps "$dec") GB/s | two-thread tree hash (\`thunder verify\`): $(gbps "$ours") GB/s | $(ratio "$ours" "$dec") |"

# Bytes on the wire for 1 MiB out of the middle of the blob.
mid=$(( size_mb * 1048576 / 2 ))
wire=$("$thunder" --data-dir "$tmp/data" encode "$id" --range "$mid-$(( mid + 1048575 ))" | wc -c)
echo "| range stream of 1 MiB | $wire bytes on the wire | payload 1048576 bytes | $(ratio "$wire" 1048576) (wire / payload) |"
rm -rf "$tmp/data" "$tmp/stream"
