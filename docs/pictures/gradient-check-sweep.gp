# Drawn by scripts/draw-pictures (do not edit): gnuplot gradient-check-sweep.gp writes gradient-check-sweep.png.
set terminal pngcairo size 900,560 font "DejaVu Sans,11"
set output "gradient-check-sweep.png"
set title "finite-difference check: relative error against eps (docs/gradient-check.md)"
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set xrange [1e-12:1e-1]
set xlabel "eps"
set ylabel "max |analytic − numerical| / max |gradient|"
set grid
set key bottom right
plot "gradient-check-sweep.dat" using 1:2 with linespoints lc rgb "#1f77b4" dt 2 pt 6 lw 2 title "conv2d weight, float32", "gradient-check-sweep.dat" using 1:3 with linespoints lc rgb "#1f77b4" dt 1 pt 7 lw 2 title "conv2d weight, float64", "gradient-check-sweep.dat" using 1:4 with linespoints lc rgb "#d62728" dt 2 pt 4 lw 2 title "batch norm input, float32", "gradient-check-sweep.dat" using 1:5 with linespoints lc rgb "#d62728" dt 1 pt 5 lw 2 title "batch norm input, float64"
