-- Announces a workload's final status on its events channel's final event and on the prefix's one
-- finished channel (Keys.finishedChannel), where producers wait for every long-poll at once.
local function announceFinal(finishedChannel, id, finalStatus)
  redis.call('PUBLISH', finishedChannel, cjson.encode({ id = id, status = finalStatus }))
end
