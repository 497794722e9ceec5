"""Static maps (matplotlib: PNG at 300 dpi, vector PDF), interactive maps (folium, offline)
and the monthly information package. See docs/maps.md."""
