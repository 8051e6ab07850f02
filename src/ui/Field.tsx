import ControlGroup from '@splunk/react-ui/ControlGroup';
import Select from '@splunk/react-ui/Select';
import Text from '@splunk/react-ui/Text';
import TextArea from '@splunk/react-ui/TextArea';

interface Common {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  /** Shown under the field and announced (role=alert) when set. */
  error?: string;
  help?: string;
  required?: boolean;
  disabled?: boolean;
}

/** The help line: the error when there is one (announced at once), otherwise the field's help. */
function helpLine(name: string, error: string | undefined, help: string | undefined) {
  if (error) {
    return (
      <span role="alert" data-error-for={name}>
        {error}
      </span>
    );
  }
  return help;
}

export function TextField(props: Common & { type?: 'text' | 'password'; placeholder?: string; multiline?: boolean }) {
  const { label, name, value, onChange, error, help, required, disabled, type, placeholder, multiline } = props;
  return (
    <ControlGroup label={label} labelPosition="top" required={required} error={!!error} help={helpLine(name, error, help)}>
      {multiline ? (
        <TextArea name={name} value={value} rowsMin={4} error={!!error} disabled={disabled} required={required} onChange={(_e, d) => onChange(d.value)} />
      ) : (
        <Text
          name={name}
          value={value}
          type={type ?? 'text'}
          autoComplete={type === 'password' ? 'new-password' : 'off'}
          placeholder={placeholder}
          error={!!error}
          disabled={disabled}
          required={required}
          onChange={(_e, d) => onChange(d.value)}
        />
      )}
    </ControlGroup>
  );
}

export function SelectField(props: Common & { options: { value: string; label: string }[] }) {
  const { label, name, value, onChange, error, help, required, disabled, options } = props;
  return (
    <ControlGroup label={label} labelPosition="top" required={required} error={!!error} help={helpLine(name, error, help)}>
      <Select name={name} value={value} error={!!error} disabled={disabled} onChange={(_e, d) => onChange(String(d.value))}>
        {options.map((o) => (
          <Select.Option key={o.value} label={o.label} value={o.value} />
        ))}
      </Select>
    </ControlGroup>
  );
}

/** After a refused submit, moves focus to the first field (in page order) that shows an error. */
export function focusFirstError(): void {
  window.setTimeout(() => {
    const dialog = document.querySelector('[role="dialog"]') ?? document;
    const name = dialog.querySelector('[data-error-for]')?.getAttribute('data-error-for');
    if (name) dialog.querySelector<HTMLElement>(`input[name="${CSS.escape(name)}"], textarea[name="${CSS.escape(name)}"]`)?.focus();
  }, 0);
}
