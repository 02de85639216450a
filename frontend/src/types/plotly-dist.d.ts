// The minified Plotly bundle ships no types; it is the same API as `plotly.js` (@types/plotly.js).
declare module 'plotly.js-basic-dist-min' {
  import Plotly from 'plotly.js';
  export default Plotly;
}
