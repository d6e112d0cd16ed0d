-- Marks a finished chunk of a windowed workload done and claims its next chunks (include/feed-claim.lua).
--
-- KEYS: meta, feed, chunks, doneChunks. ARGV: finishedChunk (-1 for none), ttlSeconds.
--!include feed-claim.lua
return claimFeed(KEYS[1], KEYS[2], KEYS[3], KEYS[4], tonumber(ARGV[1]), tonumber(ARGV[2]))
