-- PATCH /entities/{id}/attrs/{attr}: a partial update of one attribute of a random entity.
-- The attribute depends on the type: Streetlight dimmingLevel, WasteContainer fillingLevel,
-- ParkingSpot status. args: <number of loaded entities> [seed]
local n = 100000
local headers = {["Content-Type"] = "application/json"}
local spot = {"free", "occupied"}

function init(args)
  n = tonumber(args[1] or n)
  seed_random(args[2])
end

function request()
  local i = math.random(0, n - 1)
  local kind = TYPES[i % 10 + 1]
  local attr, body
  if kind == "Streetlight" then
    attr, body = "dimmingLevel", string.format('{"value": %d}', math.random(0, 100))
  elseif kind == "WasteContainer" then
    attr, body = "fillingLevel", string.format('{"value": %.2f}', math.random())
  else
    attr, body = "status", string.format('{"value": "%s"}', spot[math.random(1, 2)])
  end
  return wrk.format("PATCH", NGSI .. "/entities/" .. entity_id(i) .. "/attrs/" .. attr, headers, body)
end
