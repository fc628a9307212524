-- Refresh-token rotation: one connection per thread, each thread walks its own chain, sending
-- the refresh token the previous response returned. TOKENS is a comma-separated list, one
-- starting token per thread; CLIENT is "client_id:client_secret" for the form body.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local tokens = {}
for t in string.gmatch(os.getenv("TOKENS") or "", "([^,]+)") do tokens[#tokens + 1] = t end
local next_index = 1
local threads = {}

function setup(thread)
  thread:set("start_token", tokens[next_index])
  next_index = next_index + 1
  table.insert(threads, thread)
end

function init(args)
  current = start_token
  local id, secret = string.match(os.getenv("CLIENT"), "([^:]+):(.+)")
  prefix = "grant_type=refresh_token&client_id=" .. id .. "&client_secret=" .. secret .. "&refresh_token="
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  return wrk.format(nil, nil, nil, prefix .. current)
end

function response(status, headers, body)
  local t = string.match(body, '"refresh_token":"([^"]+)"')
  if t then current = t end
end
