import type { CSSProperties } from 'react';

/** Spacing the react-ui components leave to the page. */
export const ACTIONS: CSSProperties = { display: 'flex', gap: 4, flexWrap: 'wrap' };
export const SECTION: CSSProperties = { marginBottom: 32 };
export const TOOLBAR: CSSProperties = { margin: '8px 0 12px' };
