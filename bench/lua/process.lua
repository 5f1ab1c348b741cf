-- Seed 004's POST /calc/api/v1/process_operation (durable: a charge and a record), as the
-- bearer token in $TOKEN.
wrk.method = "POST"
wrk.body = '{"type": "addition", "arguments": [1, 2]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
