set terminal pngcairo size 760,560 font ',11' noenhanced
set output 'grid.png.tmp-30692-plot'
set title 'Test accuracy (%) by batch size and learning rate'
set xlabel 'learning rate'
set ylabel 'batch size'
set xrange [-0.5:2.5]
set yrange [-0.5:1.5]
set cbrange [0:100]
set palette defined (0 '#f7f7f7', 1 '#2a5caa')
set datafile missing 'NaN'
set key off
set xtics ('0.01' 0, '0.1' 1, '1' 2)
set ytics ('10' 0, '100' 1)
plot 'grid.dat' using 1:2:3 with image, '' using 1:2:4 with labels
set output
