-- Single-use requests: each thread sends its own slice of the lines in LINES_FILE, made ahead of
-- time because each carries something spent on use (an authorization code, a private_key_jwt
-- assertion, a DPoP proof).
-- A line is the form body, optionally followed by a tab and the value of the header HEADER.
-- AUTHORIZATION, when set, is sent on every request.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local lines = {}
for line in io.lines(os.getenv("LINES_FILE")) do lines[#lines + 1] = line end
local thread_count = tonumber(os.getenv("THREADS"))
local next_thread = 0

function setup(thread)
  thread:set("first", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  pos = first + 1
  header = os.getenv("HEADER")
  local auth = os.getenv("AUTHORIZATION")
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if auth and auth ~= "" then headers["Authorization"] = auth end
end

function request()
  local line = lines[pos] or "exhausted"
  pos = pos + thread_count
  local body, value = string.match(line, "^([^\t]*)\t(.*)$")
  if body == nil then body = line end
  if value and header and header ~= "" then headers[header] = value end
  return wrk.format("POST", nil, headers, body)
end
