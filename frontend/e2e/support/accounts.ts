// The accounts of the browser tests. The demo backend creates `admin` with ADMIN_PASSWORD (both
// Playwright configs set DTWIN_BOOTSTRAP_ADMIN_PASSWORD); the fixtures create the others through
// the API. Test-only passwords for throwaway databases.
export type Role = 'viewer' | 'operator' | 'admin';

export interface Account {
  username: string;
  password: string;
  role: Role;
}

export const ADMIN_PASSWORD = 'e2e-admin-password';

export const ADMIN: Account = { username: 'admin', password: ADMIN_PASSWORD, role: 'admin' };
export const OPERATOR: Account = {
  username: 'operator1',
  password: 'e2e-operator-password',
  role: 'operator',
};
export const VIEWER: Account = {
  username: 'viewer1',
  password: 'e2e-viewer-password',
  role: 'viewer',
};

/** Settings for the demo backend of every Playwright config. */
export const AUTH_ENV = {
  DTWIN_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
  // Every test signs in through the page and the API from one address: far more logins and
  // refreshes a minute than the default per-address limit (10) allows a person.
  DTWIN_RATE_LIMIT_LOGIN: '1000/minute',
};
