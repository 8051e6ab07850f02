import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';
import Message from '@splunk/react-ui/Message';

/**
 * One place for the page's outcomes ("Account saved", "Cannot delete…"): a polite live region for
 * successes and an assertive one for errors, so screen readers announce both.
 */
interface Notice {
  type: 'success' | 'error';
  text: string;
}

const AnnounceContext = createContext<(notice: Notice) => void>(() => undefined);

export function useAnnounce(): (notice: Notice) => void {
  return useContext(AnnounceContext);
}

export function Announcer({ children }: { children: ReactNode }) {
  const [notice, setNotice] = useState<Notice | undefined>();
  const announce = useCallback((n: Notice) => setNotice(n), []);
  return (
    <AnnounceContext.Provider value={announce}>
      <div aria-live="polite" role="status" data-testid="status">
        {notice?.type === 'success' && <Message type="success">{notice.text}</Message>}
      </div>
      <div aria-live="assertive" role="alert" data-testid="page-error">
        {notice?.type === 'error' && (
          <Message type="error" onRequestRemove={() => setNotice(undefined)}>
            {notice.text}
          </Message>
        )}
      </div>
      {children}
    </AnnounceContext.Provider>
  );
}
