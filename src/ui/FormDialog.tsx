import { useState, type ReactNode, type RefObject } from 'react';
import Button from '@splunk/react-ui/Button';
import Modal from '@splunk/react-ui/Modal';
import Paragraph from '@splunk/react-ui/Paragraph';
import { focusFirstError } from './Field.js';
import type { Errors } from './validation.js';

/**
 * Save with the page's checks first: nothing is sent while a field is wrong (focus goes to it);
 * splunkd's refusal is kept to show in the form.
 */
export function useFormSave(errorsOf: () => Errors, write: () => Promise<void>) {
  const [submitted, setSubmitted] = useState(false);
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<string | undefined>();
  const save = async (): Promise<void> => {
    setSubmitted(true);
    if (Object.keys(errorsOf()).length > 0) return focusFirstError();
    setSaving(true);
    setFailure(undefined);
    try {
      await write();
    } catch (error) {
      setFailure((error as Error).message);
      setSaving(false);
    }
  };
  return { errors: submitted ? errorsOf() : {}, saving, failure, save };
}

interface Props {
  title: string;
  /** The form's accessible name. */
  label: string;
  returnFocus: RefObject<HTMLButtonElement>;
  onClose: () => void;
  form: ReturnType<typeof useFormSave>;
  children: ReactNode;
}

/** A modal form (focus trapped, Escape closes, Enter saves) with its error summary and splunkd's refusal. */
export function FormDialog({ title, label, returnFocus, onClose, form, children }: Props) {
  const count = Object.keys(form.errors).length;
  return (
    <Modal open returnFocus={returnFocus} onRequestClose={onClose} style={{ width: 640 }}>
      <Modal.Header title={title} />
      <Modal.Body>
        <form
          aria-label={label}
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void form.save();
          }}
        >
          {children}
          {count > 0 && (
            <Paragraph role="alert" data-testid="form-summary">
              {count === 1 ? 'One field needs attention.' : `${count} fields need attention.`}
            </Paragraph>
          )}
          {form.failure && (
            <Paragraph role="alert" data-testid="form-error">
              Not saved: {form.failure}
            </Paragraph>
          )}
          <button type="submit" hidden />
        </form>
      </Modal.Body>
      <Modal.Footer>
        <Button appearance="secondary" label="Cancel" onClick={onClose} />
        <Button appearance="primary" label={form.saving ? 'Saving…' : 'Save'} disabled={form.saving} onClick={() => void form.save()} />
      </Modal.Footer>
    </Modal>
  );
}

/** Asks before something is deleted; Escape or Cancel keeps it. */
export function ConfirmDialog({ title, message, onConfirm, onClose }: { title: string; message: string; onConfirm: () => void; onClose: () => void }) {
  return (
    <Modal open returnFocus={() => undefined} onRequestClose={onClose} style={{ width: 480 }}>
      <Modal.Header title={title} />
      <Modal.Body>
        <Paragraph>{message}</Paragraph>
      </Modal.Body>
      <Modal.Footer>
        <Button appearance="secondary" label="Cancel" onClick={onClose} />
        <Button appearance="destructive" label="Delete" onClick={onConfirm} />
      </Modal.Footer>
    </Modal>
  );
}
