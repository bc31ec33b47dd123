import { cloneElement, type ComponentChildren, type VNode } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { ApiError } from './api';

export function ErrorNotice({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const code = error instanceof ApiError && error.code ? ` (${error.code})` : '';
  return (
    <p class="notice error" role="alert">
      {error.message}
      {code}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? (
    <p class="muted" role="status">
      Loading…
    </p>
  ) : null;
}

export function Card({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return (
    <div class="card">
      <div class="card-label">{label}</div>
      <div class="card-value">{value}</div>
      {detail && <div class="card-detail">{detail}</div>}
    </div>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'info'; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

/**
 * A labelled form control: the label wraps it (a click on the label focuses it), and the hint
 * describes it (`aria-describedby`), so that it is read with the control but is not its name.
 */
export function Field({ label, hint, children }: { label: string; hint?: string; children: VNode }) {
  const hintId = useId();
  return (
    <div class="field">
      <label>
        <span class="field-label">{label}</span>
        {hint ? cloneElement(children, { 'aria-describedby': hintId }) : children}
      </label>
      {hint && (
        <span class="field-hint" id={hintId}>
          {hint}
        </span>
      )}
    </div>
  );
}

/**
 * A modal dialog (the browser's own `<dialog>`: focus kept inside, Escape closes it). `onClose`
 * runs however it closes.
 */
export function Dialog({
  title,
  open,
  onClose,
  children,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const titleId = useId();
  const ref = useRef<HTMLDialogElement>(null);
  // The 'close' event also follows a close made here (open turned false): only the user's own
  // (Escape) must call onClose, or the next dialog opened in the same step would be shut at once.
  const isOpen = useRef(open);
  isOpen.current = open;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={() => isOpen.current && onClose()}>
      {open && (
        <>
          <h2 id={titleId}>{title}</h2>
          {children}
        </>
      )}
    </dialog>
  );
}

/** A spend bar: settled spend, reserved (in flight) after it, against the limit. */
export function BudgetBar({
  spent,
  reserved,
  limit,
  label,
}: {
  spent: string | null | undefined;
  reserved: string | null | undefined;
  limit: string | null;
  label: string;
}) {
  const spentAmount = Number(spent ?? 0);
  const reservedAmount = Number(reserved ?? 0);
  const limitAmount = limit === null ? null : Number(limit);
  if (limitAmount === null || !(limitAmount > 0)) return <span class="muted">no budget</span>;
  const share = (value: number) => `${Math.min(100, (100 * value) / limitAmount)}%`;
  const used = spentAmount + reservedAmount;
  return (
    <div
      class={`budget ${used >= limitAmount ? 'full' : used >= 0.8 * limitAmount ? 'high' : ''}`}
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={limitAmount}
      aria-valuenow={Math.min(used, limitAmount)}
    >
      <div class="budget-spent" style={{ width: share(spentAmount) }} />
      <div class="budget-reserved" style={{ width: share(Math.min(reservedAmount, limitAmount - spentAmount)) }} />
    </div>
  );
}
