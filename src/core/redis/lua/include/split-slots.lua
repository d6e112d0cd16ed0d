-- The slots of a packed chunk text (core/results-packing.ts), in order, empty slots included.
local function splitSlots(text)
  local slots, from = {}, 1
  while true do
    local at = string.find(text, C.slotSeparator, from, true)
    if not at then
      slots[#slots + 1] = string.sub(text, from)
      return slots
    end
    slots[#slots + 1] = string.sub(text, from, at - 1)
    from = at + 1
  end
end
