// `?team=` naming a team the floor does not have (e.g. T7 for T07): say so and link to the
// teams there are, instead of an empty board that says "Live". A team appears once its
// first event arrives, so the notice goes by itself if the team turns up later. A team whose
// agents have all moved to other teams (a training day) is not listed by the floor while it
// is empty: when this page showed it, or the daemon says it keeps it (`emptied_team_ids`),
// the notice says that instead, and goes when one comes back.

import { t } from '../i18n.js';
import { $, el, setText } from '../dom.js';
import { store, unknownTeam } from '../store.js';

function teamHref(team) {
  const u = new URL(location.href);
  if (team == null) u.searchParams.delete('team');
  else u.searchParams.set('team', team);
  return u.pathname + u.search;
}

export function render() {
  const box = $('[data-testid="unknown-team"]');
  const team = unknownTeam();
  box.hidden = team == null;
  $('#app').classList.toggle('unknown-team', team != null);
  if (team == null) return;
  const emptied = store.teamsSeen.has(team);
  box.dataset.emptied = emptied ? 'true' : 'false';
  setText($('.unknown-title', box), t(emptied ? 'unknown.empty_title' : 'unknown.title', { team }));
  const ids = store.teamIds ?? [];
  const sub = emptied ? 'unknown.empty_sub' : ids.length ? 'unknown.sub' : 'unknown.none';
  setText($('.unknown-sub', box), t(sub, { team }));
  const links = $('[data-testid="team-links"]', box);
  const sig = ids.join(',') + '|' + t('unknown.floor');
  if (links.dataset.sig === sig) return;
  links.dataset.sig = sig;
  const li = (text, href, team) => {
    const a = el('a', 'team-link', text);
    a.href = href;
    if (team) a.dataset.team = team;
    const item = el('li');
    item.append(a);
    return item;
  };
  links.replaceChildren(...ids.map((id) => li(id, teamHref(id), id)), li(t('unknown.floor'), teamHref(null), null));
}
