/**
 * Which sums answer a report of [from, to): whole UTC days from `usage_daily_rollups`, the rest
 * from `usage_records`. A day that `from` or `to` cuts is answered whichever way reads fewer
 * records: its part inside the window from the records, or the whole day from the rollups less
 * the part outside the window from the records. Records lie in the past, so the part after `now`
 * costs nothing to read: the default window (this month up to now) reads today from the rollups
 * less the records after now, instead of every record since midnight. Exact either way: the
 * rollups and the records change in the same statements, and one query sees one snapshot.
 */
export interface ReportPlan {
  /** Ranges of whole days [from, to), as dates at UTC midnight, summed from the rollups. */
  rollupDays: Array<{ from: Date; to: Date }>;
  /** Ranges of records [from, to), added (`sign` 1) or taken away (-1). */
  records: Array<{ from: Date; to: Date; sign: 1 | -1 }>;
}

const DAY_MS = 86_400_000;

export function planReport(from: Date, to: Date, now: Date): ReportPlan {
  const plan: ReportPlan = { rollupDays: [], records: [] };
  const firstWhole = ceilDay(from);
  const endWhole = floorDay(to);
  if (firstWhole.getTime() > endWhole.getTime()) {
    // Within one day.
    cutDay(plan, from, to, floorDay(from), now);
  } else {
    if (from < firstWhole) cutDay(plan, from, firstWhole, addDays(firstWhole, -1), now);
    if (firstWhole < endWhole) plan.rollupDays.push({ from: firstWhole, to: endWhole });
    if (endWhole < to) cutDay(plan, endWhole, to, endWhole, now);
  }
  plan.rollupDays = merged(plan.rollupDays);
  return plan;
}

/** [from, to) within the day starting at `day`. */
function cutDay(plan: ReportPlan, from: Date, to: Date, day: Date, now: Date): void {
  const dayEnd = addDays(day, 1);
  const inside = pastSpan(from, to, now);
  const outside = pastSpan(day, from, now) + pastSpan(to, dayEnd, now);
  if (inside <= outside) {
    plan.records.push({ from, to, sign: 1 });
    return;
  }
  plan.rollupDays.push({ from: day, to: dayEnd });
  if (day < from) plan.records.push({ from: day, to: from, sign: -1 });
  if (to < dayEnd) plan.records.push({ from: to, to: dayEnd, sign: -1 });
}

/** How much of [from, to) lies before `now`, in ms: what reading its records costs, roughly. */
function pastSpan(from: Date, to: Date, now: Date): number {
  return Math.max(0, Math.min(to.getTime(), now.getTime()) - from.getTime());
}

/** Adjacent or overlapping day ranges as one (one index range scan instead of several). */
function merged(ranges: ReportPlan['rollupDays']): ReportPlan['rollupDays'] {
  const sorted = [...ranges].sort((a, b) => a.from.getTime() - b.from.getTime());
  const out: ReportPlan['rollupDays'] = [];
  for (const range of sorted) {
    const last = out.at(-1);
    if (last && range.from <= last.to) last.to = range.to > last.to ? range.to : last.to;
    else out.push({ ...range });
  }
  return out;
}

function floorDay(date: Date): Date {
  return new Date(Math.floor(date.getTime() / DAY_MS) * DAY_MS);
}

function ceilDay(date: Date): Date {
  return new Date(Math.ceil(date.getTime() / DAY_MS) * DAY_MS);
}

function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}
