-- GET /entities?type=...&q=...&limit=...: the same filtered query on every request.
-- args: <query string, already URL-encoded>
local path = NGSI .. "/entities?type=Streetlight&limit=100"

function init(args)
  if args[1] then path = NGSI .. "/entities?" .. args[1] end
end

function request()
  return wrk.format("GET", path, {["Accept"] = "application/json"})
end
