-- Apply one consumer batch of twin updates atomically, one round trip for the whole batch.
-- KEYS[1] = twin index set, KEYS[2] = change counter, KEYS[3] = change log stream,
-- KEYS[4..n+3] = twin hashes (aligned with the updates)
-- ARGV[1] = the updates as one flat JSON array, STRIDE values per update: id, machine_type, site, line (null:
-- unknown), ts, quality, the byte length of its readings in ARGV[7], its reported settings (an object, or 0
-- for none) and its times (an object, or 0 for none)
-- ARGV[2] = processing time (ISO UTC), ARGV[3] = pub/sub channel, ARGV[4] = change log length cap,
-- ARGV[5] = where a new twin's version and a missing change counter start (version_floor),
-- ARGV[6] = the traceparent of the traced batch applying it, or '' (carried in the published messages)
-- ARGV[7] = the updates' readings, each a JSON object ({"sensor":value,...}) as the consumer encoded it, one
-- after another. A value is stored and published as the text the consumer wrote (Lua's number formatting,
-- "%.14g" through cjson, was about a quarter of this script's time, and rounded to 14 digits). Sensor names
-- are plain ([a-z0-9_], the contract's SENSOR_PATTERN) and values are finite numbers, so a pattern splits
-- the object.
-- Per-property timestamps decide: a property is written only if the update's ts is newer than the stored
-- one (ISO-8601 UTC strings of one fixed format compare like times). Late data never overwrites newer values,
-- and of two values with the same timestamp the first one received stays, as in PostgreSQL (ON CONFLICT DO
-- NOTHING), so the twin and the history agree.
-- Argument lists go to HMGET/HSET in chunks: Lua's unpack() fails beyond a few thousand values.
-- The twin's version increments once per update that changed anything; only effective changes are published.
-- Returns the JSON array of the ids of the twins that changed.
--
-- Cost (docs/decisions.md, 2026-12-08): Redis's Lua hashes every byte of every string it creates and its
-- tables rehash as they grow, so the per-update work makes few strings and tables: one HSET list reused by
-- every update, no JSON object per update in ARGV[1], the published items written as pieces of their
-- message (no string per item, no cjson.encode of a table; members in the order msgspec writes a
-- ReportedChange), each message joined in two passes (message()). A new twin's hash gets its own fields
-- before its properties, so that HMGET and HSET, which walk a small hash from its first field, find them
-- early.
local CHUNK = 1000
local STRIDE = 9
local ITEMS_PER_MESSAGE = 500
-- a message is joined from at most 25 groups of items, see message(); a group of the usual items (~350 bytes)
-- stays within the 8 KB buffer of table.concat, which joins it in one pass
local ITEMS_PER_GROUP = 20
assert(ITEMS_PER_MESSAGE <= 25 * ITEMS_PER_GROUP, 'message() joins at most 25 groups')
local PAIR = '"([^"]+)":([^,}]+)'
local call, sub, gmatch, format = redis.call, string.sub, string.gmatch, string.format
local encode, null = cjson.encode, cjson.null

local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, CHUNK do
    local part = call('HMGET', key, unpack(fields, i, math.min(i + CHUNK - 1, #fields)))
    for j = 1, #part do out[#out + 1] = part[j] end
  end
  return out
end

local function hset(key, set, from, to)  -- set[from..to]: field, value, field, value, ... (CHUNK is even)
  for i = from, to, CHUNK do
    call('HSET', key, unpack(set, i, math.min(i + CHUNK - 1, to)))
  end
end

local FIELDS = {}  -- sensor -> its value and time fields, made once per script run
local function fields(prop)
  local f = FIELDS[prop]
  if not f then f = {'r:' .. prop, 'tr:' .. prop}; FIELDS[prop] = f end
  return f
end

local JSON = {}  -- a string's JSON text, once per distinct string (ts, quality, placement repeat in a batch)
local function json(s)
  local j = JSON[s]
  if not j then j = encode(s); JSON[s] = j end
  return j
end

-- The usual update: newer than the twin's ts, every value at that ts. No stored property time is later than
-- the twin's ts (every writer keeps it so), so each value wins without reading its time. Appends to `set`
-- from n; returns the new n and the readings and settings changed, as JSON text (or nil).
local function newer(set, n, frag, rep, ts)
  local n0 = n
  for prop, text in gmatch(frag, PAIR) do
    local f = FIELDS[prop] or fields(prop)
    set[n + 1] = f[1]; set[n + 2] = text; set[n + 3] = f[2]; set[n + 4] = ts
    n = n + 4
  end
  local readings = n > n0 and frag or nil
  if rep == 0 then return n, readings, nil end
  for prop, v in pairs(rep) do
    set[n + 1] = 'p:' .. prop; set[n + 2] = encode(v); set[n + 3] = 'tp:' .. prop; set[n + 4] = ts
    n = n + 4
  end
  return n, readings, next(rep) ~= nil and encode(rep) or nil
end

-- Any other update (late, equal ts, values older than its ts): each property against its stored time.
local function merge(key, set, n, frag, rep, times, ts)
  local names, tfields, texts = {}, {}, {}
  for prop, text in gmatch(frag, PAIR) do
    names[#names + 1] = {'r', prop}; tfields[#tfields + 1] = fields(prop)[2]; texts[prop] = text
  end
  if rep ~= 0 then
    for prop, _ in pairs(rep) do names[#names + 1] = {'p', prop}; tfields[#tfields + 1] = 'tp:' .. prop end
  end
  if times == 0 then times = {} end
  local stored = hmget(key, tfields)
  local won, reported, any = {}, {}, false
  for j, nm in ipairs(names) do
    local cur = stored[j]
    local pts = times[nm[1] .. ':' .. nm[2]] or ts
    if (not cur) or cur < pts then
      if nm[1] == 'r' then
        local f, text = fields(nm[2]), texts[nm[2]]
        set[n + 1] = f[1]; set[n + 2] = text; set[n + 3] = f[2]; set[n + 4] = pts
        won[#won + 1] = '"' .. nm[2] .. '":' .. text
      else
        local v = rep[nm[2]]
        set[n + 1] = 'p:' .. nm[2]; set[n + 2] = encode(v); set[n + 3] = 'tp:' .. nm[2]; set[n + 4] = pts
        reported[nm[2]] = v; any = true
      end
      n = n + 4
    end
  end
  return n, #won > 0 and '{' .. table.concat(won, ',') .. '}' or nil, any and encode(reported) or nil
end

-- A message's text from its head, its groups of items and its tail in one pass: `..` joins all its operands
-- at once, where table.concat over a whole message re-joined what it had built every ~40 KB (luaL_Buffer),
-- copying and hashing a 500-item message about four times over
local function message(head, g, tail)
  return head .. g[1] .. (g[2] or '') .. (g[3] or '') .. (g[4] or '') .. (g[5] or '') .. (g[6] or '') ..
    (g[7] or '') .. (g[8] or '') .. (g[9] or '') .. (g[10] or '') .. (g[11] or '') .. (g[12] or '') ..
    (g[13] or '') .. (g[14] or '') .. (g[15] or '') .. (g[16] or '') .. (g[17] or '') .. (g[18] or '') ..
    (g[19] or '') .. (g[20] or '') .. (g[21] or '') .. (g[22] or '') .. (g[23] or '') .. (g[24] or '') ..
    (g[25] or '') .. tail
end

local U = cjson.decode(ARGV[1])
local now, floor, blob = ARGV[2], tonumber(ARGV[5]), ARGV[7]
local NOW = ',"last_seen":' .. json(now) .. ',"quality":'
local ITEM = '{"kind":"reported","id":'
local NEXT_ITEM = ',' .. ITEM  -- made once: every string Lua makes is hashed
local set = {}  -- one update's HSET arguments, reused: only set[1..n] counts
local ids, changed_ids, nchanged = {}, {}, 0
local messages, groups = {}, {}  -- the messages' groups of items
local parts, np = {}, 0  -- the pieces of the group being written (parts[1..np])
local at = 1
for i = 1, #U / STRIDE do
  local id, mtype_in, site_in, line_in, ts_in, quality_in, len, rep, times =
    unpack(U, (i - 1) * STRIDE + 1, i * STRIDE)
  local key = KEYS[i + 3]
  local frag = sub(blob, at, at + len - 1)
  at = at + len
  local head = call('HMGET', key, 'ts', 'machine_type', 'site', 'line', 'quality', 'version', 'created_at')
  local newest = head[1]
  local n, readings_json, reported_json
  if newest and newest < ts_in and times == 0 then
    n, readings_json, reported_json = newer(set, 0, frag, rep, ts_in)
  else
    n, readings_json, reported_json = merge(key, set, 0, frag, rep, times, ts_in)
  end
  local changed = n > 0
  local nprops = n
  local ts, quality = newest, head[5]
  if (not newest) or newest < ts_in then
    ts, quality = ts_in, quality_in
    set[n + 1] = 'ts'; set[n + 2] = ts_in; set[n + 3] = 'quality'; set[n + 4] = quality_in
    n = n + 4
  end
  -- placement changes (a machine moved) are changes too: versioned and published like readings
  local moved = false
  local mtype, site, line = head[2], head[3], head[4]
  if mtype_in ~= 'unknown' and mtype_in ~= mtype then
    mtype = mtype_in; set[n + 1] = 'machine_type'; set[n + 2] = mtype; n = n + 2; moved = true
  end
  if site_in ~= null and site_in ~= site then
    site = site_in; set[n + 1] = 'site'; set[n + 2] = site; n = n + 2; moved = true
  end
  if line_in ~= null and line_in ~= line then
    line = line_in; set[n + 1] = 'line'; set[n + 2] = line; n = n + 2; moved = true
  end
  changed = changed or moved

  set[n + 1] = 'last_seen'; set[n + 2] = now; n = n + 2
  local version
  if changed then
    version = (tonumber(head[6]) or 0) + 1
    if version == 1 then  -- a new twin (or one Redis lost): it starts at the floor, see version_floor()
      version = floor + 1
    end
    version = format('%d', version)  -- once, for the hash and the item (printf's %g was a visible cost)
    set[n + 1] = 'updated_at'; set[n + 2] = now; set[n + 3] = 'version'; set[n + 4] = version
    n = n + 4
  end
  local created = not head[7]
  if created then
    -- a new hash takes the twin's own fields first (see the header): the HMGET above reads them per update
    set[n + 1] = 'created_at'; set[n + 2] = now; n = n + 2
    hset(key, set, nprops + 1, n)
    hset(key, set, 1, nprops)
  else
    hset(key, set, 1, n)
  end
  ids[i] = id
  if changed then
    nchanged = nchanged + 1
    changed_ids[nchanged] = id
    -- the item as msgspec writes a ReportedChange (absent members are unchanged; an empty readings or
    -- reported object is left out); the readings as the consumer wrote them
    parts[np + 1] = nchanged % ITEMS_PER_MESSAGE == 1 and ITEM or NEXT_ITEM
    parts[np + 2] = encode(id)
    parts[np + 3] = ',"version":'
    parts[np + 4] = version
    parts[np + 5] = ',"ts":'
    parts[np + 6] = json(ts)
    parts[np + 7] = NOW  -- last_seen, then the quality's name
    parts[np + 8] = json(quality or 'good')
    np = np + 8
    -- placement only when it is news: a new twin, or a machine that moved
    if created or moved then
      parts[np + 1] = ',"machine_type":'; parts[np + 2] = json(mtype or 'unknown')
      parts[np + 3] = ',"site":'; parts[np + 4] = site and json(site) or 'null'
      parts[np + 5] = ',"line":'; parts[np + 6] = line and json(line) or 'null'
      np = np + 6
    end
    if readings_json then parts[np + 1] = ',"readings":'; parts[np + 2] = readings_json; np = np + 2 end
    if reported_json then parts[np + 1] = ',"reported":'; parts[np + 2] = reported_json; np = np + 2 end
    np = np + 1
    parts[np] = '}'
    if nchanged % ITEMS_PER_GROUP == 0 then groups[#groups + 1] = table.concat(parts, '', 1, np); np = 0 end
    if nchanged % ITEMS_PER_MESSAGE == 0 then messages[#messages + 1] = groups; groups = {} end
  end
end
if np > 0 then groups[#groups + 1] = table.concat(parts, '', 1, np) end
if #groups > 0 then messages[#messages + 1] = groups end
for i = 1, #ids, CHUNK do
  call('SADD', KEYS[1], unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
end
local traced = ''
if ARGV[6] ~= '' then traced = ',"trace":' .. encode(ARGV[6]) end
for _, g in ipairs(messages) do
  -- one change-stream entry per message: next seq, capped log (for resume), pub/sub (for live fan-out)
  local seq = call('INCR', KEYS[2])
  if seq == 1 then seq = floor + 1; call('SET', KEYS[2], seq) end  -- a missing counter
  local text = message('{"seq":' .. seq .. ',"type":"twins"' .. traced .. ',"items":[', g, ']}')
  call('XADD', KEYS[3], 'MAXLEN', ARGV[4], seq .. '-0', 'm', text)
  call('PUBLISH', ARGV[3], text)
end
return encode(changed_ids)
