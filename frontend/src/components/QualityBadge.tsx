// Data quality of a reading as a coloured, labelled badge.
export function QualityBadge({ quality }: { quality: string }) {
  const known = quality === 'good' || quality === 'uncertain' || quality === 'bad';
  return <span className={`quality quality--${known ? quality : 'unknown'}`}>{quality}</span>;
}
