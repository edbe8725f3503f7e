# Drawn by scripts/draw-pictures (do not edit): gnuplot im2col.gp, in this folder, writes im2col.png.
set terminal pngcairo size 1500,560 font "DejaVu Sans,11"
set output "im2col.png"
set palette defined (-1 "#d9d9d9", 0 "#ffa6a6", 1 "#ffc7a6", 2 "#ffe9a6", 3 "#f4ffa6", 4 "#d2ffa6", 5 "#b1ffa6", 6 "#a6ffbc", 7 "#a6ffde", 8 "#a6ffff", 9 "#a6deff", 10 "#a6bcff", 11 "#b1a6ff", 12 "#d2a6ff", 13 "#f4a6ff", 14 "#ffa6e9", 15 "#ffa6c7")
set palette maxcolors 17
set cbrange [-1:15]
unset colorbox
set multiplot
# The input, 4 x 4, with its ring of zero padding.
set origin 0, 0.06
set size 0.3, 0.84
set title "input x (1 x 4 x 4) with padding 1"
set xrange [-0.5:5.5]
set yrange [5.5:-0.5]
set size ratio -1
unset xtics
unset ytics
set object 1 rectangle from 0.5,-0.5 to 3.5,2.5 front fillstyle empty border rgb "#c00000" linewidth 4
plot "im2col-input.dat" using 1:2:3 with image notitle, "" using 1:2:4 with labels notitle
unset object 1
# The patch matrix: row (kh, kw) of the kernel tap, column (oh, ow) of the output position.
set origin 0.3, 0
set size 0.7, 1
set title "im2col: col[(kh,kw), (oh,ow)] = x[oh - 1 + kh, ow - 1 + kw], a 9 x 16 matrix (the framed column is the framed window)"
set xrange [-0.5:15.5]
set yrange [8.5:-0.5]
set xtics ("0,0" 0, "0,1" 1, "0,2" 2, "0,3" 3, "1,0" 4, "1,1" 5, "1,2" 6, "1,3" 7, "2,0" 8, "2,1" 9, "2,2" 10, "2,3" 11, "3,0" 12, "3,1" 13, "3,2" 14, "3,3" 15) scale 0 font ",9"
set ytics ("0,0" 0, "0,1" 1, "0,2" 2, "1,0" 3, "1,1" 4, "1,2" 5, "2,0" 6, "2,1" 7, "2,2" 8) scale 0
set xlabel "output position (oh, ow)"
set ylabel "kernel tap (kh, kw)"
set object 2 rectangle from 0.5,-0.5 to 1.5,8.5 front fillstyle empty border rgb "#c00000" linewidth 4
plot "im2col.dat" using 1:2:3 with image notitle, "" using 1:2:4 with labels notitle
unset multiplot
