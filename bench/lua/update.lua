-- POST /update with the API key, a different counter each time.
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/update", {["API-Key"] = "wiz", ["Content-Type"] = "application/json"},
    '{"counter": ' .. n .. ', "message": "bench"}')
end
