-- Removes an array key that has no TTL (array-store.ts). Every stored array has one; a SETRANGE into an
-- array that expired (or was deleted) while a workload ran creates a zero-padded string without one,
-- which goes again here, unless a PUT has replaced it meanwhile (a PUT always sets a TTL). The bytes
-- themselves go with a plain SETRANGE, not through Lua, which would copy an 8 MB argument twice more
-- (measured: 2.7 times slower).
--
-- KEYS: array. Answers 1 when it removed the key, 0 when it left it.
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
