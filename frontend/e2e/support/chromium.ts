// Debian Chromium for Playwright (never `playwright install`): shared by every Playwright config.
export const chromiumLaunch = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

/** A free-ish port chosen once per run (`||=`: an empty variable would become port 0). */
export function pickPort(variable: string): string {
  process.env[variable] ||= String(20000 + Math.floor(Math.random() * 20000));
  return process.env[variable];
}
