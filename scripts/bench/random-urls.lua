-- wrk script: random read URLs over the ECB history — random days (with fallback=previous, so
-- weekends answer too) in random bases or with random symbols, and one-year ranges in random
-- bases. Almost every request is a URL not asked for before, so this measures computing answers
-- from the snapshot rather than the answer cache.
local bases = {"EUR", "USD", "GBP", "JPY", "CHF", "AUD", "CAD", "SEK", "NOK", "DKK", "CZK", "PLN"}

local function pick(list)
  return list[math.random(#list)]
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + (args[1] and tonumber(args[1]) or 0))
end

function request()
  local y, m, d = math.random(2000, 2025), math.random(1, 12), math.random(2, 28)
  local kind = math.random(3)
  local path
  if kind == 1 then
    path = string.format("/rates/%04d-%02d-%02d/?fallback=previous&base=%s", y, m, d, pick(bases))
  elseif kind == 2 then
    path = string.format("/rates/%04d-%02d-%02d/?fallback=previous&symbols=%s,%s", y, m, d,
      pick(bases), pick(bases))
  else
    -- From y-m-d to (y+1)-m-(d-1): 365 or 366 days, within the cap.
    path = string.format("/rates/%04d-%02d-%02d..%04d-%02d-%02d/?base=%s", y, m, d, y + 1, m,
      d - 1, pick(bases))
  end
  return wrk.format("GET", path)
end
