// An alarm priority as a coloured, labelled chip (critical red, high orange, medium yellow, low blue).
export function PriorityChip({ priority }: { priority: string }) {
  return <span className={`chip priority priority--${priority}`}>{priority}</span>;
}
