-- Authorization-code redemption with PKCE: each thread redeems its own slice of the codes in
-- CODES_FILE (one per line), minted ahead of time through the real authorize flow.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local codes = {}
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
local thread_count = tonumber(os.getenv("THREADS"))
local next_thread = 0

function setup(thread)
  thread:set("first", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  pos = first + 1
  local id, secret = string.match(os.getenv("CLIENT"), "([^:]+):(.+)")
  prefix = "grant_type=authorization_code&client_id=" .. id .. "&client_secret=" .. secret ..
    "&redirect_uri=" .. os.getenv("REDIRECT") .. "&code_verifier=" .. os.getenv("VERIFIER") .. "&code="
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  local code = codes[pos] or "exhausted"
  pos = pos + thread_count
  return wrk.format(nil, nil, nil, prefix .. code)
end
