-- A mix of reads and writes: status, the user list, the audit log, and an update every 4th request.
local n = 0
request = function()
  n = n + 1
  local k = n % 4
  if k == 0 then
    return wrk.format("POST", "/update", {["API-Key"] = "wiz", ["Content-Type"] = "application/json"},
      '{"counter": ' .. n .. ', "message": "mixed"}')
  elseif k == 1 then
    return wrk.format("GET", "/status")
  elseif k == 2 then
    return wrk.format("GET", "/api/v1/users")
  else
    return wrk.format("GET", "/logs?per_page=5")
  end
end
