// Every string the wallboard shows, in English and Simplified Chinese.
// Keys are the same in both tables; a test checks that (tests/e2e/wallboard.test.mjs).
// Templates use {name} placeholders, filled by t(key, vars).

export const LANGS = ['en', 'zh'];

const en = {
  'doc.title': 'floorwatch wallboard',
  'scope.floor': 'Whole floor',
  'scope.team': 'Team {team}',
  'peak.on': 'Peak time',
  'peak.off': 'Off-peak',
  'peak.tag': 'Peak',
  'tz': 'Time zone {tz}',

  'state.talking': 'Talking',
  'state.acw': 'After-call work',
  'state.aux': 'Aux',
  'state.aux_unplanned': 'Aux unplanned',
  'state.aux_planned': 'Aux planned',
  'state.idle': 'Idle',
  'state.offline': 'Offline',
  'state.logged_in': 'Logged in',
  'strip.acw': 'ACW',
  'strip.aux_unplanned': 'Aux',
  'strip.aux_planned': 'Planned aux',
  'short.talking': 'TALK',
  'short.acw': 'ACW',
  'short.aux': 'AUX',
  'short.aux_planned': 'PLAN',
  'short.idle': 'IDLE',
  'short.offline': 'OFF',
  'offline.count': '{n} offline',
  'agents.count': '{n} agents',
  'agents.logged_in': '{n} agents logged in',

  'kpi.talk_utilization': 'Talk utilization',
  'kpi.aux_ratio': 'Aux rate',
  'kpi.occupancy': 'Occupancy',
  'kpi.band': 'target {lo}–{hi}',
  'win.s': '{n} s',
  'win.min': '{n} min',
  'win.h': '{n} h',
  'win.today': 'today',
  'win.peak_today': 'peak today',

  'teams.title': 'Teams',
  'col.team': 'Team',
  'col.talking': 'Talk',
  'col.acw': 'ACW',
  'col.aux_unplanned': 'Aux',
  'col.aux_planned': 'Plan',
  'col.idle': 'Idle',
  'col.logged_in': 'In',
  'col.talk_utilization': 'Talk utilization',
  'col.aux_ratio': 'Aux rate',
  'col.aux_cv': 'Aux CV',
  'col.aux_drivers': 'Highest aux',
  'col.aht': 'AHT',
  'col.contacts': 'Contacts',
  'col.adherence': 'Adherence',
  // The roster's activity on a tile, always labelled ("Sched: lunch" under an aux tile's
  // "Lunch" reads as the schedule, not the reason twice).
  'sched.label': 'Sched: {activity}',
  'activity.work': 'work',
  'activity.off': 'off',
  'sched.out': 'out {time}',
  'sched.out_since': 'out of adherence since {time}',
  'drivers.title': 'Highest aux rates in {team} ({window}), which drive its aux CV',
  'teams.none': 'No team data yet',
  'util.na': 'n/a',
  'util.na_title': 'Nobody logged in during this window: no utilization',
  'team.unassigned': 'Unassigned',

  'lvl.ok': 'in band',
  'lvl.low': 'below band',
  'lvl.high': 'above band',
  'lvl.warn': 'above target',
  'lvl.bad': 'well above target',
  'lvl.in_control': 'in control',
  'lvl.out_of_control': 'out of control',

  'alerts.title': 'Alerts',
  'alerts.none': 'No active alerts',
  'alerts.since': 'since {time}',
  'alerts.resolved_at': 'resolved {time}',
  'alerts.more': '+{n} more',
  'alerts.more_resolved': '+{n} resolved',
  'alerts.more_both': '+{n} more · {r} resolved',
  'sev.critical': 'Critical',
  'sev.warning': 'Warning',
  'sev.info': 'Info',
  'alert.resolved': 'Resolved',
  'alert.aux_cluster': 'Aux cluster in {team}: {k} agents in unplanned aux at peak ({share} of logged in)',
  'alert.long_aux': 'Long aux: {who}, {team} — {reason} for {dur} (limit {limit})',
  'alert.long_aux_noreason': 'Long aux: {who}, {team} — over {dur} (limit {limit})',
  'alert.long_aux_resolved': 'Long aux: {who}, {team} — back (limit {limit})',
  'alert.aux_dispersion': '{team}: aux CV {value} when raised · now {now} (limit {threshold})',
  'alert.utilization_high': '{team}: talk utilization {value} when raised · now {now}, above {threshold} — add staff',
  'alert.unknown': 'Alert in {team}',
  'alert.out_of_adherence': 'Out of adherence: {who}, {team} — for {dur} (limit {limit})',
  'alert.out_of_adherence_over': 'Out of adherence: {who}, {team} — over {limit}',
  'alert.out_of_adherence_resolved': 'Out of adherence: {who}, {team} — back on schedule',
  // A no-show (a scheduled agent never seen, team `unassigned`): what the chats say
  // (src/hooks/render.rs), not "out of adherence … back on schedule", and short enough for
  // one line of the alert list at 1080p with an agent id of up to 12 characters.
  'alert.no_show': 'No-show: {who} ({team}) — not logged in for {dur}',
  'alert.no_show_over': 'No-show: {who} ({team}) — not logged in for over {limit}',
  'alert.no_show_resolved': 'No-show: {who} ({team}) — missed {dur} of scheduled work',
  'dur.s': '{s} s', 'dur.m': '{m} min', 'dur.ms': '{m} min {s} s', 'dur.hm': '{h} h {m} min',
  'alert.aht_out_of_control': '{team}: AHT out of control ({kind}) — {value} against limit {threshold}: {rules}',

  'aht.title': 'AHT control chart',
  'aht.day': 'days',
  'aht.none': 'No closed point yet',
  'aht.cl': 'CL',
  'aht.ucl': 'UCL',
  'aht.lcl': 'LCL',
  'aht.mean': 'AHT',
  'aht.filling': 'Baseline filling ({n} points)',
  'aht.in_control': 'In control',
  'aht.out': 'Out of control',
  'aht.rule.beyond_3_sigma': 'beyond 3σ',
  'aht.rule.2_of_3_beyond_2_sigma': '2 of 3 beyond 2σ',
  'aht.rule.4_of_5_beyond_1_sigma': '4 of 5 beyond 1σ',
  'aht.rule.9_on_one_side': '9 on one side',
  'aht.rule.6_trending': '6 trending',
  'alert.long_wait': '{queue}: caller waiting {dur} (limit {limit})',
  'alert.long_wait_resolved': '{queue}: no caller over {limit} any more',
  'alert.service_level_low': '{queue}: service level {value} when raised · now {now}, below {threshold}',

  'queue.title': 'Queues',
  'queue.floor': 'All queues',
  'queue.waiting': 'Waiting',
  'queue.longest_wait': 'Longest wait',
  'queue.sl': 'Service level',
  'queue.abandon_rate': 'Abandoned',
  'queue.mode': 'Service level = answered within {secs} s ÷ {den} · target {target} · last {win}',
  'queue.mode_with_abandons': '(answered + abandoned)',
  'queue.mode_answered_only': 'answered',
  'queue.more': '+{n} more queues',

  'banner.title': 'Aux cluster',
  'banner.line': '{k} on break at peak ({share} of logged in)',
  'banner.since': 'for {dur}',
  'banner.back': 'back',
  'banner.joined': 'On break now, after the alert fired',
  'banner.more': '+{n} more: {teams}',

  'lane.long_aux': 'Over the aux limit',
  'lane.limit': 'limit {limit}',
  'lane.more': '+{n} more',
  // The out-of-adherence row, and by its title which word of a card is which
  // ("Lunch · Talking": scheduled lunch, talking).
  'lane.ooa': 'Out of adherence',
  'lane.key': 'Sched · now',
  'lane.not_logged_in': 'Not logged in',

  'tiles.title': 'Agents',
  'tiles.none': 'No agents yet',
  'tiles.rostered': ' · {n} on the roster, not due now',
  'sort.label': 'Sort the agents',
  'sort.team': 'Team',
  'sort.state': 'State',
  'sort.time': 'Time',
  'sort.team_title': 'By team, then agent id',
  'sort.state_title': 'By state, longest in it first',
  'sort.time_title': 'Longest in their state first',
  'group.all': 'All',
  'long.near': 'Aux nearing its limit ({limit})',
  'long.over': 'Aux over its limit ({limit})',
  'legend.over': 'Long aux',
  'legend.ooa': 'Out of adherence',

  'conn.connecting': 'Connecting…',
  'conn.open': 'Live',
  'conn.open_access': 'Open: no token',
  'conn.sources_down': 'Source down: {names}',
  'conn.open_access_title': 'Anyone on the network can read this board (auth.open = true, or --demo)',
  'conn.lost': 'Connection lost, reconnecting…',
  'conn.retry': 'Connection lost — reconnecting in {s} s…',
  'conn.retrying': 'Connection lost — reconnecting now…',
  'conn.last': 'Figures as of {time}',
  'feed.none': 'No events yet',
  'feed.stale': 'No events for {age}',
  'feed.age': 'last event {age} ago',
  'feed.stale_sub': 'timers stopped at {time}',

  'unknown.title': 'Unknown team “{team}”',
  'unknown.sub': 'This floor has no team {team}. Pick one:',
  'unknown.none': 'No teams on this floor yet: the board shows a team once its first event arrives.',
  'unknown.empty_title': 'Team “{team}” has no agents now',
  'unknown.empty_sub': 'Its agents have all moved to other teams; this board comes back when one returns. Or pick one:',
  'unknown.floor': 'Whole floor',

  'btn.fullscreen': 'Full screen',
  'btn.exit_fullscreen': 'Exit full screen',
  'btn.lang': '中文',
  'btn.lang_title': '切换到中文',

  'reason.break': 'Break',
  'reason.restroom': 'Restroom',
  'reason.personal': 'Personal',
  'reason.unspecified': 'Unspecified',
  'reason.system': 'System',
  'reason.training': 'Training',
  'reason.meeting': 'Meeting',
  'reason.coaching': 'Coaching',
  'reason.lunch': 'Lunch',
  'reason.outbound': 'Outbound',
  'reason.email': 'Email',
  'reason.callback': 'Callback',
  'reason.technical': 'Technical',
  'reason.not_ready': 'Not ready',

  // What someone over the aux limit is doing, in "on {doing} for 12:22".
  'doing.break': 'Break',
  'doing.restroom': 'Restroom',
  'doing.personal': 'Personal',
  'doing.system': 'System',
  'doing.technical': 'Technical',
  'doing.unspecified': 'Aux',
};

const zh = {
  'doc.title': 'floorwatch 现场看板',
  'scope.floor': '全场',
  'scope.team': '班组 {team}',
  'peak.on': '高峰时段',
  'peak.off': '非高峰',
  'peak.tag': '高峰',
  'tz': '时区 {tz}',

  'state.talking': '通话',
  'state.acw': '话后处理',
  'state.aux': '示忙',
  'state.aux_unplanned': '非计划示忙',
  'state.aux_planned': '计划示忙',
  'state.idle': '空闲',
  'state.offline': '离线',
  'state.logged_in': '在线',
  'strip.acw': '话后处理',
  'strip.aux_unplanned': '非计划示忙',
  'strip.aux_planned': '计划示忙',
  'short.talking': '通话',
  'short.acw': '话后',
  'short.aux': '示忙',
  'short.aux_planned': '计划',
  'short.idle': '空闲',
  'short.offline': '离线',
  'offline.count': '离线 {n} 人',
  'agents.count': '{n} 人',
  'agents.logged_in': '在线 {n} 人',

  'kpi.talk_utilization': '通话利用率',
  'kpi.aux_ratio': '示忙率',
  'kpi.occupancy': '占用率',
  'kpi.band': '目标 {lo}–{hi}',
  'win.s': '{n}秒',
  'win.min': '{n}分钟',
  'win.h': '{n}小时',
  'win.today': '今日',
  'win.peak_today': '今日高峰',

  'teams.title': '班组',
  'col.team': '班组',
  'col.talking': '通话',
  'col.acw': '话后',
  'col.aux_unplanned': '示忙',
  'col.aux_planned': '计划',
  'col.idle': '空闲',
  'col.logged_in': '在线',
  'col.talk_utilization': '通话利用率',
  'col.aux_ratio': '示忙率',
  'col.aux_cv': '示忙离散度',
  'col.aux_drivers': '示忙率最高',
  'col.aht': '平均处理时长',
  'col.contacts': '处理量',
  'col.adherence': '排班遵从率',
  'sched.label': '排班：{activity}',
  'activity.work': '工作',
  'activity.off': '下班',
  'sched.out': '偏离 {time}',
  'sched.out_since': '自 {time} 起未按排班',
  'drivers.title': '{team} 示忙率最高的坐席（{window}），示忙离散度主要由他们拉高',
  'teams.none': '暂无班组数据',
  'util.na': '不适用',
  'util.na_title': '本时段无人在线，无利用率可言',
  'team.unassigned': '未分组',

  'lvl.ok': '在目标区间',
  'lvl.low': '低于区间',
  'lvl.high': '高于区间',
  'lvl.warn': '高于目标',
  'lvl.bad': '远高于目标',
  'lvl.in_control': '受控',
  'lvl.out_of_control': '失控',

  'alerts.title': '告警',
  'alerts.none': '当前无告警',
  'alerts.since': '{time} 起',
  'alerts.resolved_at': '{time} 恢复',
  'alerts.more': '另有 {n} 条',
  'alerts.more_resolved': '另有 {n} 条已恢复',
  'alerts.more_both': '另有 {n} 条 · {r} 条已恢复',
  'sev.critical': '严重',
  'sev.warning': '警告',
  'sev.info': '提示',
  'alert.resolved': '已恢复',
  'alert.aux_cluster': '{team} 示忙扎堆：高峰期 {k} 人同时非计划示忙（占在线 {share}）',
  'alert.long_aux': '长时示忙：{who}（{team}）已{reason} {dur}，上限 {limit}',
  'alert.long_aux_noreason': '长时示忙：{who}（{team}）已超过 {dur}，上限 {limit}',
  'alert.long_aux_resolved': '长时示忙：{who}（{team}）已恢复，上限 {limit}',
  'alert.aux_dispersion': '{team} 示忙离散度：触发时 {value} · 现在 {now}（上限 {threshold}）',
  'alert.utilization_high': '{team} 通话利用率：触发时 {value} · 现在 {now}，高于 {threshold}，需增派人手',
  'alert.unknown': '{team} 告警',
  'alert.out_of_adherence': '未按排班执行：{who}（{team}）已 {dur}，上限 {limit}',
  'alert.out_of_adherence_over': '未按排班执行：{who}（{team}）已超过 {limit}',
  'alert.out_of_adherence_resolved': '未按排班执行：{who}（{team}）已恢复',
  'alert.no_show': '未按排班执行：{team}坐席 {who} 已排班但未登录已达 {dur}',
  'alert.no_show_over': '未按排班执行：{team}坐席 {who} 已排班但未登录已超过 {limit}',
  'alert.no_show_resolved': '未按排班执行：{team}坐席 {who} 偏离排班 {dur}（告警时未登录）',
  'dur.s': '{s} 秒', 'dur.m': '{m} 分钟', 'dur.ms': '{m} 分 {s} 秒', 'dur.hm': '{h} 小时 {m} 分钟',
  'alert.aht_out_of_control': '{team} 平均处理时长失控（{kind}）：{value}，控制限 {threshold}：{rules}',

  'aht.title': '平均处理时长控制图',
  'aht.day': '按日',
  'aht.none': '暂无已结束的点',
  'aht.cl': '中心线',
  'aht.ucl': '上限',
  'aht.lcl': '下限',
  'aht.mean': '处理时长',
  'aht.filling': '基线积累中（{n} 点）',
  'aht.in_control': '受控',
  'aht.out': '失控',
  'aht.rule.beyond_3_sigma': '超出 3σ',
  'aht.rule.2_of_3_beyond_2_sigma': '3 点中 2 点超出 2σ',
  'aht.rule.4_of_5_beyond_1_sigma': '5 点中 4 点超出 1σ',
  'aht.rule.9_on_one_side': '连续 9 点在中心线同侧',
  'aht.rule.6_trending': '连续 6 点上升或下降',
  'alert.long_wait': '{queue}：来电已等待 {dur}（上限 {limit}）',
  'alert.long_wait_resolved': '{queue}：已无来电等待超过 {limit}',
  'alert.service_level_low': '{queue} 服务水平：触发时 {value} · 现在 {now}，低于 {threshold}',

  'queue.title': '队列',
  'queue.floor': '全部队列',
  'queue.waiting': '排队数',
  'queue.longest_wait': '最长等待',
  'queue.sl': '服务水平',
  'queue.abandon_rate': '放弃率',
  'queue.mode': '服务水平 = {secs} 秒内接通 ÷ {den} · 目标 {target} · 最近 {win}',
  'queue.mode_with_abandons': '(接通 + 放弃)',
  'queue.mode_answered_only': '接通',
  'queue.more': '另有 {n} 个队列',

  'banner.title': '示忙扎堆',
  'banner.line': '高峰期 {k} 人同时休息（占在线 {share}）',
  'banner.since': '已持续 {dur}',
  'banner.back': '已返回',
  'banner.joined': '告警触发后开始休息',
  'banner.more': '另有 {n} 个组：{teams}',

  'lane.long_aux': '示忙超时',
  'lane.limit': '上限 {limit}',
  'lane.more': '另有 {n} 人',
  'lane.ooa': '未按排班',
  'lane.key': '排班 · 实际',
  'lane.not_logged_in': '未登录',

  'tiles.title': '坐席',
  'tiles.none': '暂无坐席',
  'tiles.rostered': '，排班表上 {n} 人尚未到班时间',
  'sort.label': '坐席排序',
  'sort.team': '班组',
  'sort.state': '状态',
  'sort.time': '状态时长',
  'sort.team_title': '按班组，再按工号',
  'sort.state_title': '按状态，在该状态最久的在前',
  'sort.time_title': '在当前状态最久的在前',
  'group.all': '全部',
  'long.near': '示忙即将超时（上限 {limit}）',
  'long.over': '示忙已超时（上限 {limit}）',
  'legend.over': '示忙超时',
  'legend.ooa': '未按排班',

  'conn.connecting': '正在连接…',
  'conn.open': '实时',
  'conn.open_access': '开放：无令牌',
  'conn.sources_down': '数据源断开：{names}',
  'conn.open_access_title': '网络中任何人无需令牌即可查看此看板（有意开放或演示模式）',
  'conn.lost': '连接中断，正在重连…',
  'conn.retry': '连接中断，{s} 秒后重连…',
  'conn.retrying': '连接中断，正在重连…',
  'conn.last': '数据截至 {time}',
  'feed.none': '尚无事件',
  'feed.stale': '已 {age} 无事件',
  'feed.age': '最近事件 {age} 前',
  'feed.stale_sub': '计时停在 {time}',

  'unknown.title': '没有班组“{team}”',
  'unknown.sub': '本现场没有班组 {team}，请选择：',
  'unknown.none': '本现场还没有班组：班组收到第一条事件后才会显示。',
  'unknown.empty_title': '班组“{team}”现在没有坐席',
  'unknown.empty_sub': '该班组的坐席都已调到其他班组；有坐席回来时本看板自动恢复。也可选择：',
  'unknown.floor': '全场',

  'btn.fullscreen': '全屏',
  'btn.exit_fullscreen': '退出全屏',
  'btn.lang': 'EN',
  'btn.lang_title': 'Switch to English',

  'reason.break': '休息',
  'reason.restroom': '如厕',
  'reason.personal': '私事',
  'reason.unspecified': '未注明',
  'reason.system': '系统',
  'reason.training': '培训',
  'reason.meeting': '会议',
  'reason.coaching': '辅导',
  'reason.lunch': '用餐',
  'reason.outbound': '外呼',
  'reason.email': '邮件',
  'reason.callback': '回电',
  'reason.technical': '技术故障',
  'reason.not_ready': '示忙',

  // "已{doing} 12:22": a verb phrase after 已 (已休息, 已处理私事), not the bare reason.
  'doing.break': '休息',
  'doing.restroom': '如厕',
  'doing.personal': '处理私事',
  'doing.system': '系统示忙',
  'doing.technical': '处理技术故障',
  'doing.unspecified': '示忙',
};

export const TABLES = { en, zh };

let current = en;
let currentLang = 'en';

/** Picks the language: `?lang=` wins, else the browser's preference, else English. */
export function pickLang(param, navigatorLanguages) {
  if (param && LANGS.includes(param.toLowerCase().slice(0, 2))) return param.toLowerCase().slice(0, 2);
  for (const l of navigatorLanguages ?? []) {
    const p = String(l).toLowerCase();
    if (p.startsWith('zh')) return 'zh';
    if (p.startsWith('en')) return 'en';
  }
  return 'en';
}

export function setLang(lang) {
  currentLang = LANGS.includes(lang) ? lang : 'en';
  current = TABLES[currentLang];
}

export function lang() {
  return currentLang;
}

export function t(key, vars) {
  let s = current[key] ?? en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
  return s;
}

/** A reason code in the current language; a code we have no word for is shown as sent. */
export function reasonLabel(reason) {
  if (reason == null) return '';
  const key = `reason.${reason}`;
  return key in current ? current[key] : String(reason).replace(/_/g, ' ');
}

/** A window of `floor.windows` in the current language: "30 min", "2 h", "peak today". */
export function winLabel(name) {
  if (name == null) return '';
  const m = /^(\d+)([smh])$/.exec(name);
  if (m) return t({ s: 'win.s', m: 'win.min', h: 'win.h' }[m[2]], { n: m[1] });
  return `win.${name}` in current ? t(`win.${name}`) : String(name).replace(/_/g, ' ');
}

/** Ages ("3 min") in the current language. */
export function ageLabel(text) {
  if (currentLang !== 'zh') return text;
  return text.replace(/ d\b/, ' 天').replace(/ h\b/, ' 小时').replace(/ min\b/g, ' 分钟').replace(/ s\b/, ' 秒').replace(/ /g, '');
}

/** The word for an aux reason in "on {reason} for 12:22": the state itself when unspecified. */
export function reasonWord(reason) {
  const r = reason == null || reason === 'not_ready' ? 'unspecified' : reason;
  return `doing.${r}` in current ? t(`doing.${r}`) : reasonLabel(r);
}

/** A kind of AHT chart point: "15 min" (from `[aht_chart] interval_mins`) or "days". */
export function chartKindLabel(kind) {
  return kind === 'day' ? t('aht.day') : winLabel(kind);
}

/** The rules an AHT chart point broke, in the current language, joined. */
export function rulesLabel(rules) {
  return (rules ?? []).map((r) => (`aht.rule.${r}` in current ? t(`aht.rule.${r}`) : r)).join(currentLang === 'zh' ? '，' : ', ');
}

/**
 * A roster activity (docs/adherence.md) in the current language: `work` and `off` by name,
 * others as their aux reason's word, in lower case in English ("Sched: lunch", as
 * "Sched: work"); a name we have no word for is shown as sent.
 */
export function activityLabel(act) {
  if (`activity.${act}` in current) return t(`activity.${act}`);
  if (!(`reason.${act}` in current)) return reasonLabel(act);
  return currentLang === 'en' ? reasonLabel(act).toLowerCase() : reasonLabel(act);
}

/** A duration as the chats write it (src/hooks/render.rs): "45 s", "10 min 30 s", "2 h 15 min". */
export function spokenDur(secs) {
  const x = Number.isFinite(secs) && secs > 0 ? Math.round(secs) : 0;
  const [h, m, s] = [Math.floor(x / 3600), Math.floor((x % 3600) / 60), x % 60];
  if (h) return t('dur.hm', { h, m });
  if (!m) return t('dur.s', { s });
  return t(s ? 'dur.ms' : 'dur.m', { m, s });
}

export function teamLabel(team) {
  return team === 'unassigned' ? t('team.unassigned') : team;
}
