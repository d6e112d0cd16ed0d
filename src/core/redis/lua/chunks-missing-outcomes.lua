-- The chunks in [ARGV[1], ARGV[2]) with at least one item without an outcome (no field yet, or an empty
-- slot), in order: what the reconciler checks against the queue when a workload stopped moving.
local results = KEYS[1]
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
local sep = C.slotSeparator
local found = {}
for chunk = from, to - 1 do
  local packed = redis.call('HGET', results, chunk)
  if not packed or packed == '' or string.sub(packed, 1, 1) == sep or string.sub(packed, -1) == sep
    or string.find(packed, sep .. sep, 1, true) then
    found[#found + 1] = chunk
  end
end
return found
