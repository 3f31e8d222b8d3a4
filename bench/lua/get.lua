-- GET a path with an optional cookie: wrk -s get.lua URL -- /path [cookie]
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function init(args)
  path = args[1]
  if args[2] and args[2] ~= "" then wrk.headers["Cookie"] = args[2] end
end
function request() return wrk.format("GET", path) end
