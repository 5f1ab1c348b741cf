-- A GET with `Authorization: Bearer $TOKEN`.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
