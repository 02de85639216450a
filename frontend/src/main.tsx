// Entry point: mounts the dashboard behind the login page.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { AppProviders } from './app/providers';
import { AuthGate } from './auth/AuthGate';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('#root element missing from index.html');

createRoot(root).render(
  <StrictMode>
    <AppProviders>
      <AuthGate>
        <App />
      </AuthGate>
    </AppProviders>
  </StrictMode>,
);
