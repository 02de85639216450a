-- Apply one consumer batch of twin updates atomically, one round trip for the whole batch.
-- KEYS[1] = twin index set, KEYS[2] = change counter, KEYS[3] = change log stream,
-- KEYS[4..n+3] = twin hashes (aligned with the updates)
-- ARGV[1] = JSON array of updates {id, machine_type, site, line, ts, quality, readings{} (empty), reported{},
-- times{}}
-- ARGV[2] = processing time (ISO UTC), ARGV[3] = pub/sub channel, ARGV[4] = change log length cap,
-- ARGV[5] = where a new twin's version and a missing change counter start (version_floor),
-- ARGV[6] = the traceparent of the traced batch applying it, or '' (carried in the published messages)
-- ARGV[7] = the updates' readings, each a JSON object ({"sensor":value,...}) as the consumer encoded it, one
-- after another; ARGV[8] = JSON array of their byte lengths. The readings in ARGV[1] are empty: a value is
-- stored and published as the text the consumer wrote (Lua's number formatting, "%.14g" through cjson, was
-- about a quarter of this script's time, and rounded to 14 digits). Sensor names are plain ([a-z0-9_], the
-- contract's SENSOR_PATTERN) and values are finite numbers, so a pattern splits the object.
-- Per-property timestamps decide: a property is written only if the update's ts is newer than the stored
-- one (ISO-8601 UTC strings of one fixed format compare like times). Late data never overwrites newer values,
-- and of two values with the same timestamp the first one received stays, as in PostgreSQL (ON CONFLICT DO
-- NOTHING), so the twin and the history agree.
-- Argument lists go to HMGET/HSET in chunks: Lua's unpack() fails beyond a few thousand values.
-- The twin's version increments once per update that changed anything; only effective changes are published.
-- Returns the JSON array of the ids of the twins that changed.
local CHUNK = 1000

local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, CHUNK do
    local part = redis.call('HMGET', key, unpack(fields, i, math.min(i + CHUNK - 1, #fields)))
    for j = 1, #part do out[#out + 1] = part[j] end
  end
  return out
end

local function hset(key, pairs)  -- pairs: field, value, field, value, ... (CHUNK is even)
  for i = 1, #pairs, CHUNK do
    redis.call('HSET', key, unpack(pairs, i, math.min(i + CHUNK - 1, #pairs)))
  end
end

-- a property's value and time into the HSET list, and into the change published (`into`)
local function take(set, into, prefix, prop, v, pts)
  set[#set + 1] = prefix .. prop; set[#set + 1] = cjson.encode(v)
  set[#set + 1] = 't' .. prefix .. prop; set[#set + 1] = pts
  into[prop] = v
end

local PAIR = '"([^"]+)":([^,}]+)'
local FIELDS = {}  -- sensor -> its value and time fields, made once per script run
local function fields(prop)
  local f = FIELDS[prop]
  if not f then f = {'r:' .. prop, 'tr:' .. prop}; FIELDS[prop] = f end
  return f
end
local updates = cjson.decode(ARGV[1])
local now = ARGV[2]
local floor = tonumber(ARGV[5])
local blob, lens = ARGV[7], cjson.decode(ARGV[8])
local at = 1
local out, ids, changed_ids = {}, {}, {}
for i, u in ipairs(updates) do
  local key = KEYS[i + 3]
  local frag = string.sub(blob, at, at + lens[i] - 1)
  at = at + lens[i]
  local times = u.times or {}
  local set = {}
  local readings_json = nil  -- the readings this update changed, as a JSON object's text
  local reported = {}
  local head = redis.call('HMGET', key, 'ts', 'machine_type', 'site', 'line', 'quality', 'version', 'created_at')
  local newest = head[1]
  if newest and newest < u.ts and next(times) == nil then
    -- the usual update: newer than the twin's ts, every value at that ts. No stored property time is later
    -- than the twin's ts (every writer keeps it so), so each value wins without reading its time.
    local n, pts = 0, u.ts
    for prop, text in string.gmatch(frag, PAIR) do
      local f = fields(prop)
      set[n + 1] = f[1]; set[n + 2] = text; set[n + 3] = f[2]; set[n + 4] = pts
      n = n + 4
    end
    if n > 0 then readings_json = frag end
    if type(u.reported) == 'table' then
      for prop, v in pairs(u.reported) do take(set, reported, 'p:', prop, v, u.ts) end
    end
  else
    local names, tfields, texts = {}, {}, {}
    for prop, text in string.gmatch(frag, PAIR) do
      names[#names + 1] = {'r', prop}; tfields[#tfields + 1] = fields(prop)[2]; texts[prop] = text
    end
    if type(u.reported) == 'table' then
      for prop, _ in pairs(u.reported) do names[#names + 1] = {'p', prop}; tfields[#tfields + 1] = 'tp:' .. prop end
    end
    local stored = hmget(key, tfields)
    local parts = {}
    for j, nm in ipairs(names) do
      local cur = stored[j]
      local pts = times[nm[1] .. ':' .. nm[2]] or u.ts
      if (not cur) or cur < pts then
        if nm[1] == 'r' then
          local f, text = fields(nm[2]), texts[nm[2]]
          set[#set + 1] = f[1]; set[#set + 1] = text
          set[#set + 1] = f[2]; set[#set + 1] = pts
          parts[#parts + 1] = '"' .. nm[2] .. '":' .. text
        else
          take(set, reported, 'p:', nm[2], u.reported[nm[2]], pts)
        end
      end
    end
    if #parts > 0 then readings_json = '{' .. table.concat(parts, ',') .. '}' end
  end
  local changed = #set > 0
  local ts, quality = newest, head[5]
  if (not newest) or newest < u.ts then
    ts, quality = u.ts, u.quality
    set[#set + 1] = 'ts'; set[#set + 1] = u.ts
    set[#set + 1] = 'quality'; set[#set + 1] = u.quality
  end
  -- placement changes (a machine moved) are changes too: versioned and published like readings
  local moved = false
  local mtype, site, line = head[2], head[3], head[4]
  if u.machine_type ~= 'unknown' and u.machine_type ~= mtype then
    mtype = u.machine_type; set[#set + 1] = 'machine_type'; set[#set + 1] = mtype; moved = true
  end
  if u.site ~= cjson.null and u.site ~= site then
    site = u.site; set[#set + 1] = 'site'; set[#set + 1] = site; moved = true
  end
  if u.line ~= cjson.null and u.line ~= line then
    line = u.line; set[#set + 1] = 'line'; set[#set + 1] = line; moved = true
  end
  changed = changed or moved

  set[#set + 1] = 'last_seen'; set[#set + 1] = now
  local version
  if changed then
    set[#set + 1] = 'updated_at'; set[#set + 1] = now
    version = (tonumber(head[6]) or 0) + 1
    if version == 1 then  -- a new twin (or one Redis lost): it starts at the floor, see version_floor()
      version = floor + 1
    end
    set[#set + 1] = 'version'; set[#set + 1] = version
  end
  local created = not head[7]
  if created then set[#set + 1] = 'created_at'; set[#set + 1] = now end
  hset(key, set)
  ids[#ids + 1] = u.id
  if changed then
    local item = {kind = 'reported', id = u.id, quality = quality or 'good', ts = ts, last_seen = now,
                  version = version}
    -- an empty table is left out (absent means unchanged): a Lua table with no keys may encode as a JSON
    -- array (fakeredis's cjson does), which the contract refuses
    if next(reported) ~= nil then item.reported = reported end
    -- placement only when it is news: a new twin, or a machine that moved
    if created or moved then
      item.machine_type = mtype or 'unknown'
      item.site = site or cjson.null
      item.line = line or cjson.null
    end
    -- the readings as the consumer wrote them, spliced into the item's JSON object
    local json = cjson.encode(item)
    if readings_json then json = string.sub(json, 1, -2) .. ',"readings":' .. readings_json .. '}' end
    out[#out + 1] = json
    changed_ids[#changed_ids + 1] = u.id
  end
end
for i = 1, #ids, CHUNK do
  redis.call('SADD', KEYS[1], unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
end
local published = 0
local chunk = {}
for k, item in ipairs(out) do
  chunk[#chunk + 1] = item
  if #chunk == 500 or k == #out then
    -- one change-stream entry per chunk: next seq, capped log (for resume), pub/sub (for live fan-out)
    local seq = redis.call('INCR', KEYS[2])
    if seq == 1 then seq = tonumber(ARGV[5]) + 1; redis.call('SET', KEYS[2], seq) end  -- a missing counter
    local traced = ''
    if ARGV[6] ~= '' then traced = ',"trace":' .. cjson.encode(ARGV[6]) end
    local msg = '{"seq":' .. seq .. ',"type":"twins"' .. traced .. ',"items":[' .. table.concat(chunk, ',') .. ']}'
    redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[4], seq .. '-0', 'm', msg)
    redis.call('PUBLISH', ARGV[3], msg)

    published = published + 1
    chunk = {}
  end
end
return cjson.encode(changed_ids)
