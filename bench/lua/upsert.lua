-- POST /entityOperations/upsert with pre-generated bodies of 1,000 entities (bench/datagen.py
-- upsert_body): existing entities with new values plus some new ones. Each wrk thread cycles
-- through the body files, starting at a different one. args: <body file> [<body file> ...]
local bodies = {}
local k = 0
local headers = {["Content-Type"] = "application/json"}

function init(args)
  for _, name in ipairs(args) do
    local f = assert(io.open(name, "rb"))
    table.insert(bodies, f:read("*a"))
    f:close()
  end
  k = (tid or 0) * 3
end

function request()
  k = k % #bodies + 1
  return wrk.format("POST", NGSI .. "/entityOperations/upsert", headers, bodies[k])
end
