// Shows an API or unexpected error as its problem title and detail.
import { problemOf } from '../api/client';

export function ErrorNotice({ error, context }: { error: unknown; context?: string }) {
  const problem = problemOf(error);
  return (
    <div className="notice notice--error" role="alert">
      <strong>
        {context ? `${context}: ` : ''}
        {problem.title}
      </strong>
      {problem.detail ? <span className="notice__detail">{problem.detail}</span> : null}
    </div>
  );
}
