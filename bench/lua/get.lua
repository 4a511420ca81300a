-- GET /entities/{id}: a random entity of the loaded range on every request.
-- args: <number of loaded entities> [seed]
local n = 100000

function init(args)
  n = tonumber(args[1] or n)
  seed_random(args[2])
end

function request()
  local i = math.random(0, n - 1)
  return wrk.format("GET", NGSI .. "/entities/" .. entity_id(i), {["Accept"] = "application/json"})
end
